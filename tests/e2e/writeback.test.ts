/**
 * Write-back over GraphQL against a real gateway: Ticket.writeBacks, the admin writeBacks list,
 * retryWriteBack / discardWriteBack (roles, states, the queue's old job removed), and Bull Board
 * behind the admin role. No worker runs here: rows stay where the API puts them.
 */
import { Job } from 'bullmq';
import { sqlOne, sqlRows } from '../../src/db/sql';
import { createWritebackQueue, jobIdOf, WritebackQueue } from '../../src/writeback/queue';
import { insertCustomer, insertDevice } from '../support/fixtures';
import { cleanQueuePrefix, testQueuePrefix, TEST_REDIS_URL } from '../support/queues';
import { startTestHub, TestHub } from '../support/server';

const WB = 'id route connector status attempts lastError errorCode';
let hub: TestHub;
let prefix: string;
let queue: WritebackQueue;
const numbers: string[] = [];

beforeAll(async () => {
  prefix = testQueuePrefix();
  hub = await startTestHub({ queuePrefix: prefix });
  queue = createWritebackQueue(TEST_REDIS_URL, prefix);
  const orm = hub.server.orm;
  const customerId = await insertCustomer(orm, { phone: '+8613700000001', name: '李娜' });
  const deviceId = await insertDevice(orm, { serial: 'SN-E2E-WB', ownerId: customerId });
  await sqlRows(orm, `insert into source_link (system, stream, external_id, entity_type, entity_id) values
    ('crm', 'accounts', '0015g00000E2EAAA', 'customer', ?), ('iot', 'devices', 'b6f1c2a0-0000-4000-8000-0000000000e2', 'device', ?), ('erp', 'serials', 'E2E', 'device', ?)`,
  [customerId, deviceId, deviceId]);
  for (const fault of ['不制冷', '漏水', '噪音']) {
    const res = await hub.gql(`mutation($input: CreateTicketInput!) { createTicket(input: $input) { number } }`, { input: { phone: '13700000001', serial: 'SN-E2E-WB', fault } });
    numbers.push(res.data.createTicket.number);
  }
});
afterAll(async () => {
  await queue.close();
  await hub.stop();
  await cleanQueuePrefix(prefix);
});

const ids = async (number: string) => (await sqlRows<{ id: string; route: string }>(hub.server.orm, `select id, route from writeback_outbox where ticket_number = ? order by id`, [number]));

describe('write-backs over GraphQL', () => {
  it('Ticket.writeBacks lists what each ticket change asked for, for every ticket of a page', async () => {
    const res = await hub.gql(`{ tickets(first: 10) { edges { node { number writeBacks { ${WB} } } } } }`);
    expect(res.errors).toBeUndefined();
    const by = Object.fromEntries(res.data.tickets.edges.map((e: any) => [e.node.number, e.node.writeBacks]));
    for (const n of numbers) {
      expect(by[n].map((w: any) => w.route)).toEqual(['crm-account-note', 'erp-service-record', 'iot-maintenance']);
      expect(by[n].every((w: any) => w.status === 'PENDING' && w.attempts === 0)).toBe(true);
    }
  });

  it('Ticket.writeBacks costs one statement for a whole page of tickets (no N+1)', async () => {
    const knex = hub.server.orm.em.getConnection().getKnex();
    const count = async (first: number) => {
      let n = 0;
      const onQuery = () => { n++; };
      knex.on('query', onQuery);
      const r = await hub.gql(`query($f: Int) { tickets(first: $f) { edges { node { number writeBacks { id status } } } } }`, { f: first });
      knex.off('query', onQuery);
      expect(r.errors).toBeUndefined();
      return { n, tickets: r.data.tickets.edges.length };
    };
    const one = await count(1);
    const three = await count(3);
    expect([one.tickets, three.tickets]).toEqual([1, 3]);
    expect(three.n).toBe(one.n);
  });

  it('writeBacks filters by status, connector and ticket; admin only', async () => {
    const q = `query($status: [WriteBackStatus!], $connector: String, $ticket: String) { writeBacks(status: $status, connector: $connector, ticket: $ticket) { totalCount edges { node { ticketNumber connector status } } } }`;
    const all = await hub.gql(q, {}, hub.keys.admin);
    expect(all.data.writeBacks.totalCount).toBe(9);
    const crm = await hub.gql(q, { connector: 'crm', ticket: numbers[1].toLowerCase() }, hub.keys.admin);
    expect(crm.data.writeBacks.edges.map((e: any) => [e.node.ticketNumber, e.node.connector])).toEqual([[numbers[1], 'crm']]);
    expect((await hub.gql(q, { status: ['DEAD'] }, hub.keys.admin)).data.writeBacks.totalCount).toBe(0);
    const portal = await hub.gql(q, {});
    expect(portal.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const bad = await hub.gql(q, { ticket: 'nope' }, hub.keys.admin);
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ticket' });
  });

  it('discardWriteBack gives up an unapplied write (audited); a second discard is a CONFLICT', async () => {
    const [note] = await ids(numbers[0]);
    const m = `mutation($id: ID!) { discardWriteBack(id: $id) { id status } }`;
    expect((await hub.gql(m, { id: note.id })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const res = await hub.gql(m, { id: note.id }, hub.keys.admin);
    expect(res.data.discardWriteBack).toEqual({ id: note.id, status: 'DISCARDED' });
    const again = await hub.gql(m, { id: note.id }, hub.keys.admin);
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', recordId: note.id });
    expect(await sqlOne(hub.server.orm, `select before, after, actor from audit_log where entity_type = 'writeback' and entity_id = ?`, [note.id]))
      .toEqual({ before: 'PENDING', after: 'DISCARDED', actor: 'apikey:test-admin' });
    expect((await hub.gql(m, { id: '999999' }, hub.keys.admin)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('retryWriteBack puts a DEAD write back to PENDING with fresh attempts and removes its failed job from the queue', async () => {
    const [, erp] = await ids(numbers[1]);
    await sqlRows(hub.server.orm, `update writeback_outbox set status = 'DEAD', attempts = 10, picked_at = now(), last_error = '{"code": "CONNECTOR_UNAVAILABLE", "message": "erp: 503"}' where id = ?`, [erp.id]);
    const job = await queue.add('writeback', { outboxId: erp.id, connector: 'erp' }, { jobId: jobIdOf(erp.id) });
    await job.moveToFailed(new Error('erp: 503'), '0', false).catch(() => undefined);
    const listed = await hub.gql(`query($t: String) { writeBacks(ticket: $t, status: [DEAD]) { edges { node { id lastError errorCode attempts } } } }`, { t: numbers[1] }, hub.keys.admin);
    expect(listed.data.writeBacks.edges[0].node).toEqual({ id: erp.id, lastError: 'erp: 503', errorCode: 'CONNECTOR_UNAVAILABLE', attempts: 10 });

    const res = await hub.gql(`mutation($id: ID!) { retryWriteBack(id: $id) { id status attempts } }`, { id: erp.id }, hub.keys.admin);
    expect(res.data.retryWriteBack).toEqual({ id: erp.id, status: 'PENDING', attempts: 0 });
    expect(await Job.fromId(queue, jobIdOf(erp.id))).toBeUndefined();
    // Tried before: the worker must look for its key at the target first, so the pickup stays.
    expect((await sqlOne<any>(hub.server.orm, `select picked_at from writeback_outbox where id = ?`, [erp.id]))!.picked_at).not.toBeNull();
    const again = await hub.gql(`mutation($id: ID!) { retryWriteBack(id: $id) { id } }`, { id: erp.id }, hub.keys.admin);
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', status: 'PENDING' });
  });

  it('retryWriteBack on a write still queued is refused and leaves its job in the queue', async () => {
    const [note] = await ids(numbers[1]);
    await sqlRows(hub.server.orm, `update writeback_outbox set status = 'QUEUED' where id = ?`, [note.id]);
    await queue.add('writeback', { outboxId: note.id, connector: 'crm' }, { jobId: jobIdOf(note.id), delay: 3_600_000 });
    const res = await hub.gql(`mutation($id: ID!) { retryWriteBack(id: $id) { id } }`, { id: note.id }, hub.keys.admin);
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', status: 'QUEUED' });
    expect(await Job.fromId(queue, jobIdOf(note.id))).toBeDefined();
  });

  it('Bull Board answers admin keys only', async () => {
    const base = hub.server.url.replace(/\/graphql$/, '/admin/queues');
    const none = await fetch(base);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await fetch(base, { headers: { authorization: `Bearer ${hub.keys.portal}` } })).status).toBe(403);
    const basic = `Basic ${Buffer.from(`admin:${hub.keys.admin}`).toString('base64')}`;
    const page = await fetch(`${base}/`, { headers: { authorization: basic } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const api = await fetch(`${base}/api/queues`, { headers: { authorization: `Bearer ${hub.keys.admin}` } });
    expect(api.status).toBe(200);
    const names = ((await api.json()) as any).queues.map((q: any) => q.name);
    expect(names).toEqual(expect.arrayContaining(['junction-writeback', 'junction-sync']));
  });
});
