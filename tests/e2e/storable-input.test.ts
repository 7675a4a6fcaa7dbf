import { startTestHub, TestHub } from '../support/server';
import { insertCustomer, insertDevice } from '../support/fixtures';
import { sqlRows } from '../../src/db/sql';

/** Input PostgreSQL cannot store (U+0000, an unpaired surrogate) is refused up front, naming the field; nothing is written. */
describe('GraphQL input with characters PostgreSQL cannot store', () => {
  let hub: TestHub;
  const CREATE = `mutation($input: CreateTicketInput!) { createTicket(input: $input) { number fault } }`;
  const tickets = async () => (await sqlRows<any>(hub.server.orm, `select count(*)::int n from ticket`))[0].n as number;
  const audit = async () => (await sqlRows<any>(hub.server.orm, `select count(*)::int n from audit_log`))[0].n as number;

  beforeAll(async () => {
    hub = await startTestHub();
    const c = await insertCustomer(hub.server.orm, { phone: '+8613800138000', name: '张伟' });
    await insertDevice(hub.server.orm, { serial: 'SN-OWNED-1', ownerId: c });
  });
  afterAll(() => hub.stop());

  it.each([
    ['a NUL in a variable', { phone: '13800138000', fault: '不制冷\u0000' }, 'input.fault', 'U+0000'],
    // A text cut between the two halves of an emoji (😀 is D83D DE00).
    ['an unpaired high surrogate in a nested input field', { phone: '13800138000', fault: '不制冷', category: { level1: '空调', level2: '制冷\uD83D' } }, 'input.category.level2', 'an unpaired surrogate U+D83D'],
    ['an unpaired low surrogate', { phone: '13800138000', fault: '\uDE00不制冷' }, 'input.fault', 'an unpaired surrogate U+DE00'],
  ])('refuses %s as BAD_USER_INPUT naming the field, and writes nothing', async (_, input, field, what) => {
    const [t0, a0] = [await tickets(), await audit()];
    const r = await hub.gql(CREATE, { input });
    expect(r.status).toBe(400);
    expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(r.errors![0].message).toBe(`${field} holds ${what}, which Junction cannot store; remove it`);
    expect([await tickets(), await audit()]).toEqual([t0, a0]);
  });

  it('refuses the same in the query text, naming the argument and the line', async () => {
    const t0 = await tickets();
    const r = await hub.gql(`mutation {\n  createTicket(input: { phone: "13800138000", fault: "坏了\\u0000" }) { number }\n}`);
    expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.fault' });
    expect(r.errors![0].message).toBe('input.fault (line 2) holds U+0000, which Junction cannot store; remove it');
    expect(await tickets()).toBe(t0);
  });

  it('takes characters outside the BMP (a whole emoji) and CJK text as they are', async () => {
    const r = await hub.gql(CREATE, { input: { phone: '13800138000', serial: 'SN-OWNED-1', fault: '空调不制冷😀' } });
    expect(r.errors).toBeUndefined();
    expect(r.data.createTicket.fault).toBe('空调不制冷😀');
  });
});
