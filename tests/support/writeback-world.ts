import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../../src/db/sql';
import { insertCustomer, insertDevice } from './fixtures';
import type { WritebackSandboxes } from './writeback';

export interface WorldParty {
  phone: string;
  serial: string;
  customerId: string;
  deviceId: string;
  accountId: string;
  caseId: string;
  caseVersion: string;
  tbDeviceId: string;
}

/**
 * A customer and device linked (source_link) to records that exist in the sandboxes: an Account,
 * an open Case on the device, a ThingsBoard device; the ERP record is per ticket.
 */
export async function linkParty(orm: MikroORM, sb: WritebackSandboxes, i: number): Promise<WorldParty> {
  const account = sb.crm.control.records('Account')[i];
  const kase = sb.crm.control.records('Case').filter((c) => !c.IsClosed)[i];
  const tb = sb.iot.control.devices()[i].device.id.id;
  const phone = `+861390000${String(1000 + i)}`;
  const serial = `SN-WB-${i}`;
  const customerId = await insertCustomer(orm, { phone, name: `客户${i}` });
  const deviceId = await insertDevice(orm, { serial, ownerId: customerId });
  await sqlRows(orm, `insert into complaint (case_number, customer_id, device_id, status) values (?, ?, ?, 'OPEN')`, [`WB${i}`, customerId, deviceId]);
  await sqlRows(orm, `insert into source_link (system, stream, external_id, entity_type, entity_id, version) values
      ('crm', 'accounts', ?, 'customer', ?, ?),
      ('erp', 'serials', ?, 'device', ?, null),
      ('iot', 'devices', ?, 'device', ?, null),
      ('crm', 'cases', ?, 'complaint', (select id from complaint where case_number = ?), ?)`,
  [account.Id, customerId, String(account.SystemModstamp), `KD-${i}`, deviceId, tb, deviceId, kase.Id, `WB${i}`, new Date(Date.parse(String(kase.SystemModstamp))).toISOString()]);
  return { phone, serial, customerId, deviceId, accountId: account.Id, caseId: kase.Id, caseVersion: String(kase.SystemModstamp), tbDeviceId: tb };
}
