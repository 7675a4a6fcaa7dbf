import { MikroORM } from '@mikro-orm/postgresql';
import { openOrm } from '../db/orm';
import { sqlRows } from '../db/sql';
import { TicketService } from '../tickets/ticket-service';
import { TicketStatus } from '../tickets/ticket-enums';
import { cloneTemplate, dropDatabase } from '../../tests/support/databases';
import { insertCustomer, insertDevice } from '../../tests/support/fixtures';

const actor = { name: 'agent', origin: 'test' };

describe('transactional outbox', () => {
  let orm: MikroORM;
  let db: { name: string; url: string };
  let service: TicketService;

  beforeAll(async () => {
    db = await cloneTemplate();
    orm = await openOrm(db.url);
    service = new TicketService(orm);
    const customerId = await insertCustomer(orm, { phone: '+8613800000001', name: '张伟' });
    const deviceId = await insertDevice(orm, { serial: 'SN-OUTBOX-1', ownerId: customerId });
    await sqlRows(orm, `insert into complaint (case_number, customer_id, device_id, status) values ('00001001', ?, ?, 'OPEN') returning id`, [customerId, deviceId]);
    await sqlRows(orm, `insert into source_link (system, stream, external_id, entity_type, entity_id, version) values
      ('crm', 'accounts', '0015g00000AcctAAA', 'customer', ?, '2026-01-01T00:00:00.000Z'),
      ('erp', 'serials', '100001', 'device', ?, null),
      ('iot', 'devices', 'b6f1c2a0-0000-4000-8000-000000000001', 'device', ?, null),
      ('crm', 'cases', '5005g00000CaseAAA', 'complaint', (select id from complaint where case_number = '00001001'), '2026-01-02T00:00:00.000Z')`,
    [customerId, deviceId, deviceId]);
  });
  afterAll(async () => {
    await orm.close(true);
    await dropDatabase(db.name);
  });

  const rowsOf = (number: string) =>
    sqlRows<{ id: string; route: string; connector: string; target_key: string; ticket_version: number; status: string; payload: any }>(
      orm, `select id, route, connector, target_key, ticket_version, status, payload from writeback_outbox where ticket_number = ? order by id`, [number]);

  it('writes the routes a change fires, tagged with the ticket, in the change transaction', async () => {
    const { number } = await service.create({ phone: '13800000001', serial: 'SN-OUTBOX-1', fault: '不制冷' }, actor);
    const created = await rowsOf(number);
    // creation touches fault and status: note, ERP service record, IoT attribute; the Case only closes with the ticket
    expect(created.map((r) => r.route).sort()).toEqual(['crm-account-note', 'erp-service-record', 'iot-maintenance']);
    expect(created.every((r) => r.status === 'PENDING')).toBe(true);
    // Ids name jobs and vendor-side keys: each database starts them at a random point, never at 1.
    for (const r of created) expect(BigInt(r.id) >= 10n ** 12n && BigInt(r.id) < 2n ** 53n).toBe(true);
    const note = created.find((r) => r.route === 'crm-account-note')!;
    expect(note.payload.tag).toBe(`Junction ticket ${number}`);
    expect(note.payload.target).toEqual({ entity: 'customer', stream: 'accounts', externalId: '0015g00000AcctAAA', version: '2026-01-01T00:00:00.000Z' });
    expect(note.target_key).toBe('crm:customer:0015g00000AcctAAA');
    expect(created.find((r) => r.route === 'erp-service-record')!.target_key).toBe(`erp:erp-service-record:${number}`);

    await service.update(number, { priority: 'P1' as any }, actor); // no route watches priority
    expect(await rowsOf(number)).toHaveLength(3);

    await service.changeStatus(number, { status: TicketStatus.IN_PROGRESS }, actor);
    await service.changeStatus(number, { status: TicketStatus.RESOLVED, solution: '更换压缩机' }, actor);
    await service.changeStatus(number, { status: TicketStatus.CLOSED }, actor);
    const all = await rowsOf(number);
    const close = all.filter((r) => r.route === 'crm-case-close');
    expect(close).toHaveLength(1);
    expect(close[0].payload.target.externalId).toBe('5005g00000CaseAAA');
    expect(close[0].payload.ticket.status).toBe('CLOSED');
    const versions = all.filter((r) => r.route === 'iot-maintenance').map((r) => r.ticket_version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('rolls the outbox rows back with a refused change', async () => {
    const { number } = await service.create({ phone: '13800000001', fault: '漏水' }, actor);
    const before = await rowsOf(number);
    await expect(service.changeStatus(number, { status: TicketStatus.RESOLVED }, actor)).rejects.toThrow();
    expect(await rowsOf(number)).toEqual(before);
  });
});
