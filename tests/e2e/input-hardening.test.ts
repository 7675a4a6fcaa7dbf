import { startTestHub, TestHub } from '../support/server';
import { insertCustomer, insertDevice } from '../support/fixtures';
import { sqlOne, sqlRows } from '../../src/db/sql';
import { suggestSerials } from '../../src/identity/suggest';

/** Input the gateway must refuse (or answer emptily) instead of running out of memory, mis-costing or failing inside SQL. */
describe('input hardening', () => {
  let hub: TestHub;
  let customerId: string;

  beforeAll(async () => {
    hub = await startTestHub({ maxQueryCost: 2000 });
    customerId = await insertCustomer(hub.server.orm, { phone: '+8613800138000', name: '张伟' });
    await insertDevice(hub.server.orm, { serial: 'SN-OWNED-1', ownerId: customerId });
  });
  afterAll(() => hub.stop());

  const CREATE = `mutation($input: CreateTicketInput!) { createTicket(input: $input) { number } }`;

  describe('serial length', () => {
    it.each([65, 10_000])('refuses createTicket with a %i-character serial as BAD_USER_INPUT on input.serial', async (length) => {
      const before = (await sqlOne<{ n: number }>(hub.server.orm, 'select count(*)::int n from ticket'))!.n;
      const r = await hub.gql(CREATE, { input: { phone: '13800138000', serial: 'A'.repeat(length), fault: '坏了' } });
      expect(r.data).toBeNull();
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.serial' });
      expect((await sqlOne<{ n: number }>(hub.server.orm, 'select count(*)::int n from ticket'))!.n).toBe(before);
    });

    it('searches no suggestions for a serial over the limit', async () => {
      expect(await suggestSerials(hub.server.orm, `SN-OWNED-1${'X'.repeat(5_000)}`)).toEqual([]);
    });
  });

  describe('query cost', () => {
    const COSTLY = `query($b: Boolean!) { tickets(first: 50) { edges { node { number
      history @include(if: $b) { changes } customer @include(if: $b) { devices { serial } } } } } }`;

    it('costs the same query text again when only a boolean variable changes', async () => {
      const cheap = await hub.gql(COSTLY, { b: false });
      expect(cheap.errors).toBeUndefined();
      const costly = await hub.gql(COSTLY, { b: true });
      expect(costly.status).toBe(400);
      expect(costly.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 2000 });
    });

    it('costs a null variable apart from a missing one (the default applies)', async () => {
      const q = `query($f: Int = 100) { tickets(first: $f) { edges { node { history { changes } customer { devices { serial } } } } } }`;
      expect((await hub.gql(q, { f: null })).errors).toBeUndefined();
      const r = await hub.gql(q, {});
      expect(r.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    });

    it.each([-1000, 0])('does not let first: %i cancel the cost of its siblings', async (first) => {
      const q = `{ a: tickets(first: ${first}) { edges { node { history { changes } customer { devices { serial } } } } }
        b: tickets(first: 100) { edges { node { history { changes } customer { devices { serial } } } } } }`;
      const r = await hub.gql(q);
      expect(r.status).toBe(400);
      expect(r.data).toBeUndefined();
      expect(r.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    });
  });

  describe('customer dataIssues by state', () => {
    it('finds an OPEN issue behind 200 newer RESOLVED ones', async () => {
      const c = await insertCustomer(hub.server.orm, { phone: '+8613911112222', name: '李娜' });
      const open = await sqlOne<{ id: string }>(hub.server.orm,
        `insert into data_issue (kind, state, entity_type, entity_id, fingerprint, message) values ('X', 'OPEN', 'customer', ?, 'h4-open', 'open one') returning id`, [c]);
      await sqlRows(hub.server.orm,
        `insert into data_issue (kind, state, entity_type, entity_id, fingerprint, message)
         select 'X', 'RESOLVED', 'customer', ?, 'h4-resolved-' || g, 'resolved' from generate_series(1, 200) g`, [c]);
      const r = await hub.gql(`query($id: ID!) { customer(id: $id) {
        open: dataIssues(state: [OPEN]) { id state } settled: dataIssues(state: [RESOLVED, IGNORED]) { id } all: dataIssues { id } } }`, { id: c });
      expect(r.errors).toBeUndefined();
      expect(r.data.customer.open).toEqual([{ id: String(open!.id), state: 'OPEN' }]);
      expect(r.data.customer.settled).toHaveLength(200);
      expect(r.data.customer.all).toHaveLength(200);
      expect(r.data.customer.all.map((i: any) => i.id)).not.toContain(String(open!.id));
    });
  });

  describe('a RESOLVED ticket keeps its solution', () => {
    const STATUS = `mutation($n: String!, $s: TicketStatus!, $solution: String) {
      changeTicketStatus(number: $n, status: $s, solution: $solution) { status solution } }`;
    const UPDATE = `mutation($n: String!, $input: UpdateTicketInput!) { updateTicket(number: $n, input: $input) { status solution fault } }`;
    let number: string;

    beforeAll(async () => {
      number = (await hub.gql(CREATE, { input: { phone: '13800138000', fault: '不制冷' } })).data.createTicket.number;
      expect((await hub.gql(STATUS, { n: number, s: 'IN_PROGRESS' })).errors).toBeUndefined();
      expect((await hub.gql(STATUS, { n: number, s: 'RESOLVED', solution: '更换压缩机' })).data.changeTicketStatus.status).toBe('RESOLVED');
    });

    const solution = async () => (await sqlOne<{ solution: string | null; status: string }>(hub.server.orm,
      'select solution, status from ticket where number = ?', [number]))!;

    it.each([null, '', '   '])('refuses updateTicket(solution: %j) on a RESOLVED ticket', async (value) => {
      const r = await hub.gql(UPDATE, { n: number, input: { solution: value } });
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.solution', recordId: number });
      expect(await solution()).toEqual({ solution: '更换压缩机', status: 'RESOLVED' });
    });

    it.each(['CLOSED', 'IN_PROGRESS'])('refuses a blank solution when moving to %s', async (status) => {
      const r = await hub.gql(STATUS, { n: number, s: status, solution: '   ' });
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'solution' });
      expect(await solution()).toEqual({ solution: '更换压缩机', status: 'RESOLVED' });
    });

    it('still takes other changes and a new solution', async () => {
      const r = await hub.gql(UPDATE, { n: number, input: { fault: '不制冷，有异响', solution: '更换压缩机和风扇' } });
      expect(r.errors).toBeUndefined();
      expect(r.data.updateTicket).toEqual({ status: 'RESOLVED', solution: '更换压缩机和风扇', fault: '不制冷，有异响' });
    });
  });

  describe('ticket category', () => {
    it.each([
      [{ level1: '   ' }, 'BAD_USER_INPUT', 'input.category.level1', { level2: '制冷异常' }],
      [{ level1: '空调', level2: ' ', level3: '压缩机' }, 'BAD_USER_INPUT', 'input.category.level2', {}],
    ])('refuses %j when a blank level leaves a lower one without its parent', async (category, code, field, more) => {
      const r = await hub.gql(CREATE, { input: { phone: '13800138000', fault: '坏了', category: { ...category, ...more } } });
      expect(r.errors![0].extensions).toMatchObject({ code, field });
    });

    it('stores levels trimmed, a blank one as none', async () => {
      const r = await hub.gql(`mutation($input: CreateTicketInput!) { createTicket(input: $input) { category { level1 level2 level3 } } }`,
        { input: { phone: '13800138000', fault: '坏了', category: { level1: ' 空调 ', level2: '   ' } } });
      expect(r.errors).toBeUndefined();
      expect(r.data.createTicket.category).toEqual({ level1: '空调', level2: null, level3: null });
    });
  });

  describe('ids beyond bigint', () => {
    const TOO_BIG = '9223372036854775808'; // 2^63
    const cursor = (id: string) => Buffer.from(`c:${id}`, 'utf8').toString('base64url');

    it.each([
      ['customer(id)', `{ customer(id: "${TOO_BIG}") { id } }`, 'portal', { customer: null }],
      ['customer(id) at 2^63-1', `{ customer(id: "9223372036854775807") { id } }`, 'portal', { customer: null }],
      ['tickets(filter.customerId)', `{ tickets(filter: { customerId: "${TOO_BIG}" }) { totalCount edges { cursor } } }`, 'portal', { tickets: { totalCount: 0, edges: [] } }],
      ['excelJob(id)', `{ excelJob(id: "${TOO_BIG}") { id } }`, 'batch', { excelJob: null }],
    ])('%s answers as for an id that does not exist', async (_name, query, key, data) => {
      const r = await hub.gql(query, {}, hub.keys[key as 'portal' | 'batch']);
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual(data);
    });

    it.each([
      ['tickets(after)', `{ tickets(after: "${cursor(TOO_BIG)}") { totalCount } }`, 'portal', 'after'],
      ['customers(after)', `{ customers(after: "${cursor('99999999999999999999')}") { totalCount } }`, 'portal', 'after'],
      ['dataIssues(filter.entityId)', `{ dataIssues(filter: { entityId: "${TOO_BIG}" }) { totalCount } }`, 'portal', 'filter.entityId'],
      ['revokeApiKey(id)', `mutation { revokeApiKey(id: "${TOO_BIG}") }`, 'admin', 'id'],
      ['createTicket(input.customerId)', `mutation { createTicket(input: { customerId: "${TOO_BIG}", fault: "x" }) { number } }`, 'portal', 'input.customerId'],
      ['retryWriteBack(id)', `mutation { retryWriteBack(id: "${TOO_BIG}") { id } }`, 'admin', 'id'],
      ['discardWriteBack(id)', `mutation { discardWriteBack(id: "${TOO_BIG}") { id } }`, 'admin', 'id'],
      ['resolveDataIssue(id)', `mutation { resolveDataIssue(id: "${TOO_BIG}", state: RESOLVED) { id } }`, 'admin', 'id'],
    ])('%s is BAD_USER_INPUT naming the field', async (_name, query, key, field) => {
      const r = await hub.gql(query, {}, hub.keys[key as 'portal' | 'admin']);
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    });
  });
});

describe('API key prefixes', () => {
  let hub: TestHub;
  beforeAll(async () => { hub = await startTestHub(); });
  afterAll(() => hub.stop());

  it('store a few random characters after jk_<role>_, so two keys of one role can be told apart', async () => {
    const create = async () => (await hub.gql('mutation { createApiKey(name: "portal app", role: "portal") { key info { prefix } } }', {}, hub.keys.admin)).data.createApiKey;
    const [a, b] = [await create(), await create()];
    for (const k of [a, b]) {
      expect(k.info.prefix).toMatch(/^jk_portal_[A-Za-z0-9_-]{4}$/);
      expect(k.key.startsWith(k.info.prefix)).toBe(true);
    }
    expect(a.info.prefix).not.toBe(b.info.prefix);
  });
});
