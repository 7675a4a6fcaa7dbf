import { startTestHub, TestHub } from '../support/server';
import { insertCustomer, insertDevice } from '../support/fixtures';
import { sqlRows } from '../../src/db/sql';

const CREATE = `mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  number status priority fault version slaResponseDue slaResolveDue createdBy category { level1 level2 level3 }
  customer { name } device { serial } history { type toStatus actor origin changes } } }`;
const STATUS = `mutation($n: String!, $s: TicketStatus!, $solution: String, $reason: String, $v: Int) {
  changeTicketStatus(number: $n, status: $s, solution: $solution, blockingReason: $reason, expectedVersion: $v) {
    number status version solution blockingReason resolvedAt closedAt history { type fromStatus toStatus } } }`;
const UPDATE = `mutation($n: String!, $input: UpdateTicketInput!, $v: Int) { updateTicket(number: $n, input: $input, expectedVersion: $v) {
  number fault priority solution version slaResolveDue history { type changes } } }`;

describe('ticket mutations', () => {
  let hub: TestHub;
  const count = async (table: string) => (await sqlRows<any>(hub.server.orm, `select count(*)::int n from ${table}`))[0].n as number;

  beforeAll(async () => {
    hub = await startTestHub();
    const c = await insertCustomer(hub.server.orm, { phone: '+8613800138000', name: '张伟' });
    await insertDevice(hub.server.orm, { serial: 'SN-OWNED-1', ownerId: c });
    const other = await insertCustomer(hub.server.orm, { phone: '+8613911112222', name: '李娜' });
    await insertDevice(hub.server.orm, { serial: 'SN-OTHER-1', ownerId: other });
    await insertDevice(hub.server.orm, { serial: 'SN-NO-OWNER' });
  });
  afterAll(() => hub.stop());

  it('creates a ticket from a phone in any format, with SLA, history and audit', async () => {
    const before = await count('audit_log');
    const r = await hub.gql(CREATE, { input: {
      phone: '138 0013 8000', serial: 'sn-owned-1', fault: ' 空调不制冷 ', priority: 'P1',
      category: { level1: '空调', level2: '制冷异常', level3: '压缩机不启动' },
    } });
    expect(r.errors).toBeUndefined();
    const t = r.data.createTicket;
    expect(t.number).toMatch(/^T\d{8}-\d{4}$/);
    expect(t).toMatchObject({ status: 'NEW', priority: 'P1', fault: '空调不制冷', version: 1, createdBy: 'apikey:test-portal',
      customer: { name: '张伟' }, device: { serial: 'SN-OWNED-1' }, category: { level1: '空调', level2: '制冷异常', level3: '压缩机不启动' } });
    expect(Date.parse(t.slaResolveDue) - Date.parse(t.slaResponseDue)).toBe(20 * 3600_000);
    expect(t.history).toHaveLength(1);
    expect(t.history[0]).toMatchObject({ type: 'CREATED', toStatus: 'NEW', actor: 'apikey:test-portal', origin: 'graphql' });
    expect(t.history[0].changes.fault).toEqual({ before: null, after: '空调不制冷' });
    expect(await count('audit_log')).toBeGreaterThan(before);
  });

  it('takes the owner as customer when only a serial is given, and numbers tickets uniquely', async () => {
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => hub.gql(CREATE, { input: { serial: 'SN-OWNED-1', fault: '异响' } })));
    const numbers = results.map((r) => r.data.createTicket.number);
    expect(new Set(numbers).size).toBe(5);
    expect(results[0].data.createTicket.customer.name).toBe('张伟');
  });

  it.each([
    [{ fault: '坏了' }, 'BAD_USER_INPUT', 'input.phone'],
    [{ phone: 'abc', fault: '坏了' }, 'BAD_USER_INPUT', 'input.phone'],
    [{ phone: '13800138000', fault: '   ' }, 'BAD_USER_INPUT', 'input.fault'],
    [{ phone: '13999999999', fault: '坏了' }, 'NOT_FOUND', 'input.phone'],
    [{ serial: 'NOPE-404', fault: '坏了' }, 'UNKNOWN_SERIAL', 'input.serial'],
    [{ serial: 'SN-NO-OWNER', fault: '坏了' }, 'BAD_USER_INPUT', 'input.phone'],
    [{ phone: '13800138000', serial: 'SN-OTHER-1', fault: '坏了' }, 'CONFLICT', 'input.serial'],
    [{ phone: '13800138000', fault: '坏了', category: { level2: '制冷异常' } }, 'BAD_USER_INPUT', 'input.category.level1'],
    [{ phone: '13800138000', fault: 'x'.repeat(4001) }, 'BAD_USER_INPUT', 'input.fault'],
  ])('refuses %j with %s on %s and writes nothing', async (input, code, field) => {
    const [tickets, audits] = [await count('ticket'), await count('audit_log')];
    const r = await hub.gql(CREATE, { input });
    expect(r.data).toBeNull();
    expect(r.errors![0].extensions).toMatchObject({ code, field });
    expect([await count('ticket'), await count('audit_log')]).toEqual([tickets, audits]);
  });

  it('refuses an unknown enum value', async () => {
    const r = await hub.gql(CREATE, { input: { phone: '13800138000', fault: 'x', priority: 'P9' } });
    expect(r.status).toBe(400);
    expect(r.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(r.errors![0].message).toContain('input.priority');
    expect(r.errors![0].message).not.toMatch(/did you mean/i);
    const literal = await hub.gql(`mutation { createTicket(input: { phone: "13800138000", fault: "x", priority: P9 }) { number } }`);
    expect(literal.errors![0].extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(literal.errors![0].message).not.toMatch(/did you mean/i);
  });

  it('walks a ticket through its lifecycle and records every step', async () => {
    const n = (await hub.gql(CREATE, { input: { phone: '13800138000', fault: '漏水' } })).data.createTicket.number;
    const step = (s: string, extra: Record<string, unknown> = {}) => hub.gql(STATUS, { n, s, ...extra });

    expect((await step('IN_PROGRESS')).data.changeTicketStatus.status).toBe('IN_PROGRESS');
    const noReason = await step('PENDING');
    expect(noReason.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'blockingReason', recordId: n });
    expect((await step('PENDING', { reason: '等待配件' })).data.changeTicketStatus.blockingReason).toBe('等待配件');
    const noSolution = await step('RESOLVED');
    expect(noSolution.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'solution' });
    const resolved = (await step('RESOLVED', { solution: '更换排水管' })).data.changeTicketStatus;
    expect(resolved).toMatchObject({ status: 'RESOLVED', solution: '更换排水管', blockingReason: null });
    expect(resolved.resolvedAt).not.toBeNull();
    const closed = (await step('CLOSED')).data.changeTicketStatus;
    expect(closed.closedAt).not.toBeNull();
    expect(closed.history.map((h: any) => `${h.fromStatus ?? ''}>${h.toStatus ?? ''}`)).toEqual([
      '>NEW', 'NEW>IN_PROGRESS', 'IN_PROGRESS>PENDING', 'PENDING>RESOLVED', 'RESOLVED>CLOSED',
    ]);

    const illegal = await step('IN_PROGRESS');
    expect(illegal.errors![0].extensions).toMatchObject({ code: 'INVALID_TRANSITION', field: 'status', from: 'CLOSED', allowed: [] });
    const frozen = await hub.gql(UPDATE, { n, input: { fault: '改' } });
    expect(frozen.errors![0].extensions!.code).toBe('CONFLICT');
  });

  it('refuses an illegal move without changing anything', async () => {
    const n = (await hub.gql(CREATE, { input: { phone: '13800138000', fault: '噪音' } })).data.createTicket.number;
    const events = await count('ticket_event');
    const r = await hub.gql(STATUS, { n, s: 'CLOSED' });
    expect(r.errors![0].extensions).toMatchObject({ code: 'INVALID_TRANSITION', from: 'NEW', to: 'CLOSED' });
    expect(await count('ticket_event')).toBe(events);
    const t = await hub.gql(`query($n: String!) { ticket(number: $n) { status version } }`, { n });
    expect(t.data.ticket).toEqual({ status: 'NEW', version: 1 });
  });

  it('updates fields with optimistic concurrency and audits each changed field', async () => {
    const n = (await hub.gql(CREATE, { input: { phone: '13800138000', fault: '显示E1' } })).data.createTicket.number;
    const u = await hub.gql(UPDATE, { n, input: { fault: '显示E1，不开机', priority: 'P0' }, v: 1 });
    expect(u.errors).toBeUndefined();
    expect(u.data.updateTicket).toMatchObject({ fault: '显示E1，不开机', priority: 'P0', version: 2 });
    expect(u.data.updateTicket.history[1].changes).toMatchObject({ fault: { before: '显示E1', after: '显示E1，不开机' }, priority: { before: 'P2', after: 'P0' } });
    const audit = await sqlRows<any>(hub.server.orm,
      `select field, before, after, actor, origin from audit_log a join ticket t on t.id = a.entity_id
       where a.entity_type = 'ticket' and t.number = ? and a.at > t.created_at order by a.id`, [n]);
    expect(audit.map((a) => a.field).sort()).toEqual(['fault', 'priority', 'slaResolveDue', 'slaResponseDue']);
    expect(audit[0]).toMatchObject({ actor: 'apikey:test-portal', origin: 'graphql' });

    const stale = await hub.gql(UPDATE, { n, input: { solution: 'x' }, v: 1 });
    expect(stale.errors![0].extensions).toMatchObject({ code: 'CONFLICT', field: 'expectedVersion', currentVersion: 2 });
    const empty = await hub.gql(UPDATE, { n, input: {} });
    expect(empty.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' });
    const missing = await hub.gql(UPDATE, { n: 'T20990101-0001', input: { fault: 'x' } });
    expect(missing.errors![0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'number' });
    const badNumber = await hub.gql(UPDATE, { n: 'hello', input: { fault: 'x' } });
    expect(badNumber.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'number' });
  });

  it('lists tickets as a connection with filters and cursors', async () => {
    const q = `query($f: TicketFilter, $after: String) { tickets(filter: $f, first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { number status } } } }`;
    const first = await hub.gql(q, { f: { status: ['NEW'] } });
    expect(first.data.tickets.edges).toHaveLength(2);
    expect(first.data.tickets.pageInfo.hasNextPage).toBe(true);
    const total = first.data.tickets.totalCount;
    const seen = new Set<string>();
    let after: string | null = null;
    for (;;) {
      const page: any = await hub.gql(q, { f: { status: ['NEW'] }, after });
      for (const e of page.data.tickets.edges) { expect(e.node.status).toBe('NEW'); seen.add(e.node.number); }
      if (!page.data.tickets.pageInfo.hasNextPage) break;
      after = page.data.tickets.pageInfo.endCursor;
    }
    expect(seen.size).toBe(total);
    const bad = await hub.gql(q, { after: 'bm9wZQ' });
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const tooMany = await hub.gql(`{ tickets(first: 1000) { totalCount } }`);
    expect(tooMany.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});
