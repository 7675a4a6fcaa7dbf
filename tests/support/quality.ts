import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlOne, sqlRows } from '../../src/db/sql';

/**
 * Golden data for the data checks: each rule of mappings/quality/rules.json has records that must
 * be found (positive) and records that look close but must not (negative). All times relative to
 * QUALITY_NOW, the clock the runs are given.
 */
export const QUALITY_NOW = new Date('2026-11-23T12:00:00.000Z');
const at = (hours: number) => new Date(QUALITY_NOW.getTime() + hours * 3_600_000).toISOString();

export interface QualitySeed {
  customers: Record<'a' | 'b' | 'c', string>;
  devices: Record<string, string>;
  tickets: Record<string, string>;
}

export async function seedQualityData(orm: MikroORM): Promise<QualitySeed> {
  const one = async (sql: string, params: unknown[]) => String((await sqlOne<{ id: string }>(orm, `${sql} returning id`, params))!.id);
  const customer = (phone: string, name: string) => one(`insert into customer (phone, name) values (?, ?)`, [phone, name]);
  const customers = { a: await customer('+8613800000001', '张伟'), b: await customer('+8613800000002', '李娜'), c: await customer('+8613800000003', '王芳') };
  const device = (serial: string, model: string, owner: string | null, warrantyEnd: string | null = null) =>
    one(`insert into device (serial, model, owner_id, warranty_end, lineage) values (?, ?, ?, ?, ?::jsonb)`,
      [serial, model, owner, warrantyEnd, JSON.stringify(warrantyEnd ? { warrantyEnd: { system: 'erp', stream: 'serials', externalId: `ERP-${serial}`, at: at(-1000) }, owner: { system: 'erp', stream: 'serials', externalId: `ERP-${serial}`, at: at(-1000) } } : {})]);
  const devices: Record<string, string> = {
    owned: await device('SN-OWNED-1', 'KFR-72LW/N8HR3', customers.a, '2027-06-30'),
    twoOwners: await device('SN-TWO-OWNERS', 'KFR-72LW/N8HR3', customers.a, '2027-01-31'),
    iotUnsold: await device('SN-IOT-UNSOLD', 'DSL-K20 Pro', null),
    iotSold: await device('SN-IOT-SOLD', 'DSL-K20 Pro', customers.c),
    iotErpLinked: await device('SN-IOT-ERPLINK', 'DSL-K20 Pro', null),
    rf3: await device('SN-RF3', 'RF-MODEL-3', customers.c),
    rf2: await device('SN-RF2', 'RF-MODEL-2', customers.c),
    rf8: await device('SN-RF8', 'RF-MODEL-8D', customers.c),
  };
  const purchase = (order: string, customerId: string, deviceId: string) =>
    sqlRows(orm, `insert into purchase (order_number, line_no, customer_id, device_id, model) values (?, 1, ?, ?, 'KFR-72LW/N8HR3')`, [order, customerId, deviceId]);
  await purchase('XSDD-1', customers.a, devices.owned);
  await purchase('XSDD-2', customers.b, devices.twoOwners); // the ERP sold it to B; the golden owner is A
  await purchase('XSDD-3', customers.c, devices.iotSold);
  for (const d of [devices.iotUnsold, devices.iotSold, devices.iotErpLinked]) {
    await sqlRows(orm, `insert into telemetry (device_id, online, last_seen_at, run_count) values (?, true, ?, 10)`, [d, at(-1)]);
  }
  await sqlRows(orm, `insert into source_link (system, stream, external_id, entity_type, entity_id) values ('erp', 'serials', 'ERP-SN-IOT-ERPLINK', 'device', ?)`, [devices.iotErpLinked]);
  await sqlRows(orm, `insert into source_link (system, stream, external_id, entity_type, entity_id) values ('iot', 'devices', 'tb-unsold', 'device', ?)`, [devices.iotUnsold]);

  const ticket = (number: string, t: { customer: string; device?: string; status: string; created: number; updated?: number; slaDue?: number; derived?: object; category?: string[] }) =>
    one(`insert into ticket (number, customer_id, device_id, status, priority, fault, category_l1, category_l2, category_l3, derived, created_at, updated_at, sla_resolve_due)
         values (?, ?, ?, ?, 'P2', '不制冷', ?, ?, ?, ?::jsonb, ?, ?, ?)`,
    [number, t.customer, t.device ?? null, t.status, t.category?.[0] ?? null, t.category?.[1] ?? null, t.category?.[2] ?? null,
      JSON.stringify(t.derived ?? {}), at(t.created), at(t.updated ?? -1), t.slaDue === undefined ? at(100) : at(t.slaDue)]);
  const fault = ['空调', '制冷异常', '压缩机不启动'];
  const tickets: Record<string, string> = {
    // STATUS_MISMATCH: resolved, the case names it and is open (+); resolved, paired by customer within a day (+);
    // resolved whose case is closed, and the customer's other open complaint is 30 h older than it (−).
    resolvedNamed: await ticket('T20261120-0001', { customer: customers.a, device: devices.owned, status: 'RESOLVED', created: -70 }),
    resolvedPaired: await ticket('T20261120-0002', { customer: customers.b, status: 'RESOLVED', created: -60 }),
    resolvedCaseClosed: await ticket('T20261120-0003', { customer: customers.c, status: 'CLOSED', created: -50 }),
    // WARRANTY_MISMATCH: told 2026-06-30, ERP says 2027-06-30 (+); told the ERP's date (−).
    toldWrong: await ticket('T20261123-0001', { customer: customers.a, device: devices.owned, status: 'IN_PROGRESS', created: -2, derived: { told: { warrantyEnd: '2026-06-30' }, inWarranty: false } }),
    toldRight: await ticket('T20261123-0002', { customer: customers.a, device: devices.owned, status: 'NEW', created: -2, derived: { told: { warrantyEnd: '2027-06-30' }, inWarranty: true } }),
    // TICKET_STALLED: open and untouched for 13 h (+), 11 h (−), resolved and untouched for 30 h (−).
    stalled: await ticket('T20261122-0001', { customer: customers.b, status: 'PENDING', created: -20, updated: -13 }),
    fresh: await ticket('T20261122-0002', { customer: customers.b, status: 'ASSIGNED', created: -20, updated: -11 }),
    oldDone: await ticket('T20261122-0003', { customer: customers.b, status: 'RESOLVED', created: -40, updated: -30 }),
    // SLA_BREACHED: due an hour ago (+), due in an hour (−).
    late: await ticket('T20261123-0003', { customer: customers.c, status: 'NEW', created: -5, slaDue: -1 }),
    onTime: await ticket('T20261123-0004', { customer: customers.c, status: 'NEW', created: -5, slaDue: 1 }),
  };
  // REPEAT_FAILURE: three within six days (+), two (−), three spread over eight days (−).
  for (const [i, h] of [-150, -100, -10].entries()) tickets[`rf3_${i}`] = await ticket(`T2026111${i}-0003`, { customer: customers.c, device: devices.rf3, status: 'CLOSED', created: h, category: fault });
  for (const [i, h] of [-100, -10].entries()) tickets[`rf2_${i}`] = await ticket(`T2026111${i}-0002`, { customer: customers.c, device: devices.rf2, status: 'CLOSED', created: h, category: fault });
  for (const [i, h] of [-200, -104, -8].entries()) tickets[`rf8_${i}`] = await ticket(`T2026111${i}-0008`, { customer: customers.c, device: devices.rf8, status: 'CLOSED', created: h, category: fault });

  const complaint = (caseNumber: string, c: { customer: string; device?: string; status: string; opened: number; ticketNumber?: string }) =>
    one(`insert into complaint (case_number, customer_id, device_id, status, opened_at, ticket_number) values (?, ?, ?, ?, ?, ?)`,
      [caseNumber, c.customer, c.device ?? null, c.status, at(c.opened), c.ticketNumber ?? null]);
  const caseNamed = await complaint('00001001', { customer: customers.a, device: devices.owned, status: 'OPEN', opened: -100, ticketNumber: 'T20261120-0001' });
  await sqlRows(orm, `insert into source_link (system, stream, external_id, entity_type, entity_id) values ('crm', 'cases', '500CASE1001', 'complaint', ?)`, [caseNamed]);
  await complaint('00001002', { customer: customers.b, status: 'OPEN', opened: -61 });
  await complaint('00001003', { customer: customers.c, status: 'CLOSED', opened: -50, ticketNumber: 'T20261120-0003' });
  await complaint('00001004', { customer: customers.c, status: 'OPEN', opened: -80 }); // C's next ticket comes 30 h later: not paired

  // NAME_MISMATCH: B is 李娜 in the CRM and 李纳 in the ERP (+); A is 张伟 and "张 伟" (−).
  const sourced = async (customerId: string, system: string, connector: string, stream: string, externalId: string, payload: object) => {
    await sqlRows(orm, `insert into source_record (connector, stream, external_id, payload, hash, status) values (?, ?, ?, ?::jsonb, 'h', 'MERGED')`, [connector, stream, externalId, JSON.stringify(payload)]);
    await sqlRows(orm, `insert into source_link (system, stream, external_id, entity_type, entity_id) values (?, ?, ?, 'customer', ?)`, [system, stream, externalId, customerId]);
  };
  await sourced(customers.a, 'crm', 'crm', 'accounts', '001A', { Id: '001A', Name: '张伟' });
  await sourced(customers.a, 'erp', 'erp', 'customers', 'CUST-A', { FNumber: 'CUST-A', FName: '张 伟' });
  await sourced(customers.b, 'crm', 'crm', 'accounts', '001B', { Id: '001B', Name: '李娜' });
  await sourced(customers.b, 'erp', 'erp', 'customers', 'CUST-B', { FNumber: 'CUST-B', FName: '李纳' });
  return { customers, devices, tickets };
}

/** Every fingerprint the committed rules must find in the seed (and nothing else). */
export const EXPECTED_FINGERPRINTS = [
  'STATUS_MISMATCH:ticket:T20261120-0001',
  'STATUS_MISMATCH:ticket:T20261120-0002',
  'WARRANTY_MISMATCH:ticket:T20261123-0001',
  'OWNER_CONFLICT:device:SN-TWO-OWNERS',
  'NAME_MISMATCH:customer:+8613800000002',
  'UNSOLD_DEVICE_REPORTING:device:SN-IOT-UNSOLD',
  'TICKET_STALLED:ticket:T20261122-0001',
  'SLA_BREACHED:ticket:T20261123-0003',
  'REPEAT_FAILURE:model:RF-MODEL-3 | 空调 / 制冷异常 / 压缩机不启动',
].sort();
