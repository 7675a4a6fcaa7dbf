import { startTestHub, TestHub } from '../support/server';
import { insertCustomer, insertDevice, insertHeavyCustomer } from '../support/fixtures';
import { sqlRows } from '../../src/db/sql';

const LOOKUP = `query($id: String!) { lookup(identifier: $id) {
  matchedBy normalized reason
  customer { id phone name tier stats { ticketCount openTicketCount resolvedTicketCount resolutionRate }
    lineage { field system stream externalId }
    devices { serial model warrantyStatus telemetry { online runCount alerts } purchases { orderNumber amount }
      compatibleSpareParts { code totalStock stock { warehouse quantity } } }
    tickets(first: 20) { totalCount pageInfo { hasNextPage endCursor } edges { node { number status history { type } } } } }
  device { serial owner { name } }
  ticket { number customer { name } device { serial } } } }`;

describe('lookup', () => {
  let hub: TestHub;
  let customerId: string;

  beforeAll(async () => {
    hub = await startTestHub();
    customerId = await insertCustomer(hub.server.orm, { phone: '+8613800138000', name: '张伟', tier: 'VIP', region: '华东' });
    await insertDevice(hub.server.orm, { serial: 'KFR72LW0001', ownerId: customerId, warrantyEnd: '2020-01-01' });
    await insertDevice(hub.server.orm, { serial: 'ORPHAN001' });
  });
  afterAll(() => hub.stop());

  it.each(['13800138000', '138 0013 8000', '+86-138-0013-8000', '(0086)13800138000', '１３８００１３８０００'])(
    'finds the customer by phone written as %s', async (written) => {
      const r = await hub.gql(LOOKUP, { id: written });
      expect(r.errors).toBeUndefined();
      expect(r.data.lookup.matchedBy).toBe('PHONE');
      expect(r.data.lookup.normalized).toBe('+8613800138000');
      expect(r.data.lookup.customer.name).toBe('张伟');
      expect(r.data.lookup.customer.devices[0].warrantyStatus).toBe('OUT_OF_WARRANTY');
      expect(r.data.lookup.customer.lineage).toEqual([{ field: 'name', system: 'crm', stream: 'accounts', externalId: 'A1' }]);
    });

  it('finds a device by serial in any case and gives its owner', async () => {
    const r = await hub.gql(LOOKUP, { id: ' kfr72lw0001 ' });
    expect(r.data.lookup.matchedBy).toBe('SERIAL');
    expect(r.data.lookup.device.serial).toBe('KFR72LW0001');
    expect(r.data.lookup.customer.name).toBe('张伟');
  });

  it('finds a device without owner and says so with a null customer', async () => {
    const r = await hub.gql(LOOKUP, { id: 'orphan001' });
    expect(r.data.lookup.matchedBy).toBe('SERIAL');
    expect(r.data.lookup.customer).toBeNull();
  });

  it('reads a serial with letters as a serial, even when its digits are some customer\'s phone', async () => {
    // libphonenumber picks the digits out of text: these were +8613900139000 and +862026000123, and the phone won.
    const orm = hub.server.orm;
    await insertCustomer(orm, { phone: '+8613900139000', name: '李娜', tier: 'GOLD', region: '华北' });
    await insertCustomer(orm, { phone: '+862026000123', name: '王芳', tier: 'SILVER', region: '华南' });
    await insertDevice(orm, { serial: 'KFR13900139000' });
    await insertDevice(orm, { serial: 'SN2026000123' });
    for (const serial of ['KFR13900139000', 'sn2026000123']) {
      const r = await hub.gql(LOOKUP, { id: serial });
      expect(r.errors).toBeUndefined();
      expect(r.data.lookup).toMatchObject({ matchedBy: 'SERIAL', normalized: serial.toUpperCase(), customer: null, device: { serial: serial.toUpperCase() } });
    }
    const phone = await hub.gql(LOOKUP, { id: '139-0013-9000' });
    expect(phone.data.lookup).toMatchObject({ matchedBy: 'PHONE', normalized: '+8613900139000', customer: { name: '李娜' } });
    const none = await hub.gql(LOOKUP, { id: 'KFR13900139001' });
    expect(none.data.lookup).toMatchObject({ matchedBy: 'NONE', reason: 'Nothing matched: "KFR13900139001" is not a valid phone number; no device has serial KFR13900139001' });
  });

  it('answers NONE with a reason when nothing matches', async () => {
    const r = await hub.gql(LOOKUP, { id: '13900000000' });
    expect(r.errors).toBeUndefined();
    expect(r.data.lookup).toMatchObject({ matchedBy: 'NONE', customer: null, device: null, ticket: null });
    expect(r.data.lookup.reason).toContain('no customer has phone +8613900000000');
    const r2 = await hub.gql(LOOKUP, { id: 'not-a-thing' });
    expect(r2.data.lookup.reason).toContain('is not a valid phone number');
    const r3 = await hub.gql(LOOKUP, { id: 'T20990101-0001' });
    expect(r3.data.lookup).toMatchObject({ matchedBy: 'NONE', reason: 'No ticket numbered T20990101-0001' });
  });

  it('refuses an empty identifier with BAD_USER_INPUT naming the field', async () => {
    const r = await hub.gql(LOOKUP, { id: '  ' });
    expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'identifier' });
  });

  it('finds a ticket by number with its customer and device', async () => {
    const created = await hub.gql(`mutation { createTicket(input: { serial: "KFR72LW0001", fault: "不制冷" }) { number } }`);
    const number = created.data.createTicket.number;
    const r = await hub.gql(LOOKUP, { id: number.toLowerCase() });
    expect(r.data.lookup.matchedBy).toBe('TICKET_NUMBER');
    expect(r.data.lookup.ticket).toEqual({ number, customer: { name: '张伟' }, device: { serial: 'KFR72LW0001' } });
  });

  it('runs a fixed number of SQL statements whatever the size of the customer', async () => {
    const orm = hub.server.orm;
    const small = await insertHeavyCustomer(orm, '+8613700000001', 2, 5);
    const heavy = await insertHeavyCustomer(orm, '+8613700000002', 50, 500);
    expect(small).not.toBe(heavy);
    const count = async (phone: string) => {
      let n = 0;
      const knex = orm.em.getConnection().getKnex();
      const onQuery = () => { n++; };
      knex.on('query', onQuery);
      const r = await hub.gql(LOOKUP, { id: phone });
      knex.off('query', onQuery);
      expect(r.errors).toBeUndefined();
      return { n, data: r.data.lookup };
    };
    const a = await count('13700000001');
    const b = await count('13700000002');
    expect(b.data.customer.devices).toHaveLength(50);
    expect(b.data.customer.stats.ticketCount).toBe(500);
    expect(b.data.customer.tickets.edges).toHaveLength(20);
    expect(b.data.customer.tickets.edges[0].node.history).toHaveLength(2);
    expect(b.data.customer.devices[0].compatibleSpareParts[0].totalStock).toBe(10);
    expect(b.n).toBe(a.n);
    expect(b.n).toBeLessThanOrEqual(4);
    // and the statements really were batched: the whole database has far more rows than statements
    const [{ n }] = await sqlRows<any>(orm, 'select count(*)::int n from ticket');
    expect(n).toBeGreaterThan(500);
  });

  it('gives the same device relations whether fetched with the customer or on their own', async () => {
    const fields = 'serial telemetry { online runCount alerts } purchases { orderNumber amount orderedAt } compatibleSpareParts { code name totalStock stock { warehouse quantity } } tickets(first: 3) { totalCount edges { node { number history { type } } } }';
    const viaCustomer = await hub.gql(`{ customer(phone: "13700000002") { devices { ${fields} } } }`);
    const device = viaCustomer.data.customer.devices[3];
    const alone = await hub.gql(`query($s: String!) { device(serial: $s) { ${fields} } }`, { s: device.serial });
    expect(alone.errors).toBeUndefined();
    expect(alone.data.device).toEqual(device);
    expect(device.purchases[0].amount).toBe('4999.00');
    expect(device.compatibleSpareParts.length).toBeGreaterThan(0);
  });
});
