import { bulkExecutor, sqlRows } from '../db/sql';
import { insertOutboxRows, OutboxRowInput } from './outbox';
import { TicketService } from '../tickets/ticket-service';
import { TicketStatus } from '../tickets/ticket-enums';
import { useTestDatabase } from '../../tests/support/databases';
import { insertCustomer, insertDevice } from '../../tests/support/fixtures';
import { untilAdvisoryLockWaits } from '../../tests/support/locks';

const actor = { name: 'agent', origin: 'test' };

describe('transactional outbox', () => {
  const db = useTestDatabase();
  let service: TicketService;

  beforeAll(async () => {
    service = new TicketService(db.orm);
    const customerId = await insertCustomer(db.orm, { phone: '+8613800000001', name: '张伟' });
    const deviceId = await insertDevice(db.orm, { serial: 'SN-OUTBOX-1', ownerId: customerId });
    await sqlRows(db.orm, `insert into complaint (case_number, customer_id, device_id, status) values ('00001001', ?, ?, 'OPEN') returning id`, [customerId, deviceId]);
    await sqlRows(db.orm, `insert into source_link (system, stream, external_id, entity_type, entity_id, version) values
      ('crm', 'accounts', '0015g00000AcctAAA', 'customer', ?, '2026-01-01T00:00:00.000Z'),
      ('erp', 'serials', '100001', 'device', ?, null),
      ('iot', 'devices', 'b6f1c2a0-0000-4000-8000-000000000001', 'device', ?, null),
      ('crm', 'cases', '5005g00000CaseAAA', 'complaint', (select id from complaint where case_number = '00001001'), '2026-01-02T00:00:00.000Z')`,
    [customerId, deviceId, deviceId]);
  });

  const rowsOf = (number: string) =>
    sqlRows<{ id: string; route: string; connector: string; target_key: string; ticket_version: number; status: string; payload: any }>(
      db.orm, `select id, route, connector, target_key, ticket_version, status, payload from writeback_outbox where ticket_number = ? order by id`, [number]);

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

  it('commits the change and its outbox rows together: an outbox insert that fails takes the ticket change with it', async () => {
    const { number } = await service.create({ phone: '13800000001', serial: 'SN-OUTBOX-1', fault: '漏水' }, actor);
    const before = await rowsOf(number);
    await sqlRows(db.orm, `create function test_refuse_boom() returns trigger language plpgsql as $$
      begin if new.payload->'ticket'->>'fault' = 'BOOM' then raise exception 'outbox refused'; end if; return new; end $$`);
    await sqlRows(db.orm, `create trigger test_refuse_boom before insert on writeback_outbox for each row execute function test_refuse_boom()`);
    try {
      await expect(service.update(number, { fault: 'BOOM' }, actor)).rejects.toThrow(/outbox refused/);
    } finally {
      await sqlRows(db.orm, `drop trigger test_refuse_boom on writeback_outbox; drop function test_refuse_boom()`);
    }
    expect(await rowsOf(number)).toEqual(before);
    const [t] = await sqlRows<any>(db.orm, `select fault, version from ticket where number = ?`, [number]);
    expect(t).toEqual({ fault: '漏水', version: 1 });
  });

  it('closes only the Cases of this ticket: a Case naming another ticket stays', async () => {
    const { number: other } = await service.create({ phone: '13800000001', serial: 'SN-OUTBOX-1', fault: '另一单' }, actor);
    await sqlRows(db.orm, `insert into complaint (case_number, customer_id, device_id, status, ticket_number)
      select '00001002', customer_id, device_id, 'OPEN', ? from complaint where case_number = '00001001'`, [other]);
    await sqlRows(db.orm, `insert into source_link (system, stream, external_id, entity_type, entity_id) select 'crm', 'cases', '5005g00000CaseBBB', 'complaint', id from complaint where case_number = '00001002'`);
    const { number } = await service.create({ phone: '13800000001', serial: 'SN-OUTBOX-1', fault: '不制冷' }, actor);
    await service.changeStatus(number, { status: TicketStatus.IN_PROGRESS }, actor);
    await service.changeStatus(number, { status: TicketStatus.RESOLVED, solution: '清洗' }, actor);
    await service.changeStatus(number, { status: TicketStatus.CLOSED }, actor);
    const closes = (await rowsOf(number)).filter((r) => r.route === 'crm-case-close').map((r) => r.payload.target.externalId);
    expect(closes).toEqual(['5005g00000CaseAAA']);
  });

  it('never targets the name-keyed record of a ThingsBoard push that did not name its device, only a link keyed by the id', async () => {
    const customerId = String((await sqlRows<any>(db.orm, `select id from customer where phone = '+8613800000001'`))[0].id);
    const deviceId = await insertDevice(db.orm, { serial: 'SN-OUTBOX-NAME', ownerId: customerId });
    await sqlRows(db.orm, `insert into source_link (system, stream, external_id, entity_type, entity_id) values ('iot', 'devices', 'name:SN-OUTBOX-NAME', 'device', ?)`, [deviceId]);
    const iot = async (number: string) => (await rowsOf(number)).filter((r) => r.route === 'iot-maintenance').map((r) => r.target_key);
    const { number } = await service.create({ phone: '13800000001', serial: 'SN-OUTBOX-NAME', fault: '不制冷' }, actor);
    expect(await iot(number)).toEqual([]);
    await sqlRows(db.orm, `insert into source_link (system, stream, external_id, entity_type, entity_id) values ('iot', 'devices', 'b6f1c2a0-0000-4000-8000-000000000002', 'device', ?)`, [deviceId]);
    await service.changeStatus(number, { status: TicketStatus.IN_PROGRESS }, actor);
    expect(await iot(number)).toEqual(['iot:device:b6f1c2a0-0000-4000-8000-000000000002']);
  });

  it('draws ids in commit order per target: a second change to the same record waits for the first to commit', async () => {
    const row = (targetKey: string, ticketId: string): OutboxRowInput => ({
      ticketId, ticketNumber: `T-LOCK-${ticketId}`, ticketVersion: 1, route: 'iot-maintenance', connector: 'iot', operation: 'maintenanceAttribute',
      mapping: 'thingsboard/maintenance', targetKey, payload: { tag: 'x' } as any,
    });
    const [ticketId] = (await sqlRows<any>(db.orm, `select id from ticket order by id limit 1`)).map((r) => String(r.id));
    const first = db.orm.em.fork();
    await first.begin();
    const [firstId] = await insertOutboxRows(bulkExecutor(first), [row('iot:device:LOCK-1', ticketId)]);
    const second = db.orm.em.fork().transactional((em) => insertOutboxRows(bulkExecutor(em), [row('iot:device:LOCK-1', ticketId)]));
    // The second waits on the first's target lock (seen in pg_locks, no timing involved).
    await untilAdvisoryLockWaits(db.orm);
    await first.commit();
    const [secondId] = await second;
    expect(BigInt(secondId)).toBeGreaterThan(BigInt(firstId));
    await sqlRows(db.orm, `delete from writeback_outbox where target_key = 'iot:device:LOCK-1'`);
  });
});
