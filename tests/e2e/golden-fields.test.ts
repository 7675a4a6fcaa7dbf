import { startTestHub, TestHub } from '../support/server';
import { insertCustomer, insertDevice } from '../support/fixtures';
import { sqlRows } from '../../src/db/sql';
import { MergeItem, Merger } from '../../src/sync/merge';

/** Golden fields set by hand through the gateway, and what a sync merge does with them afterwards. */
describe('golden fields set by hand', () => {
  let hub: TestHub;
  let customerId: string;

  const SET_CUSTOMER = `mutation($id: ID!, $input: CustomerFieldsInput!, $pin: Boolean, $v: Int) {
    setCustomerFields(id: $id, input: $input, pin: $pin, expectedVersion: $v) { id name tier region version
      lineage { field system stream externalId pinned } } }`;
  const UNPIN_CUSTOMER = `mutation($id: ID!, $fields: [CustomerGoldenField!]!) {
    unpinCustomerFields(id: $id, fields: $fields) { name version lineage { field system pinned } } }`;
  const SET_DEVICE = `mutation($serial: String!, $input: DeviceFieldsInput!, $pin: Boolean) {
    setDeviceFields(serial: $serial, input: $input, pin: $pin) { serial model purchaseDate warrantyEnd owner { phone }
      lineage { field system pinned } } }`;
  const LOOKUP = `query($id: String!) { lookup(identifier: $id) { customer { name region lineage { field system externalId pinned } } } }`;

  /** One CRM accounts page through the real merge (top-priority source for customer names). */
  const crmSync = (fields: Record<string, unknown>, at: string) => hub.server.orm.em.fork().transactional(async (em) => {
    const items: MergeItem[] = [{ index: 0, externalId: 'A1', version: null, at, record: { entity: 'customer', fields } }];
    expect((await new Merger(em, { connector: 'crm', system: 'crm', stream: 'accounts' }).merge(items)).size).toBe(0);
  });
  const customerAudit = () => sqlRows<any>(hub.server.orm,
    `select field, before, after, actor, origin from audit_log where entity_type = 'customer' and entity_id = ? order by id`, [customerId]);

  beforeAll(async () => {
    hub = await startTestHub();
    customerId = await insertCustomer(hub.server.orm, { phone: '+8613800138111', name: '张伟', tier: 'GOLD', region: '华东' });
    await insertDevice(hub.server.orm, { serial: 'GF-DEV-1', purchaseDate: '2024-01-01', warrantyEnd: '2026-01-01' });
  });
  afterAll(() => hub.stop());

  it('pins a customer name set by an admin: a later CRM sync leaves value and lineage; unpinned, the next sync replaces it', async () => {
    const r = await hub.gql(SET_CUSTOMER, { id: customerId, input: { name: ' 张伟 (经销商) ' } }, hub.keys.admin);
    expect(r.errors).toBeUndefined();
    expect(r.data.setCustomerFields).toMatchObject({ name: '张伟 (经销商)', tier: 'GOLD', version: 2 });
    expect(r.data.setCustomerFields.lineage.find((l: any) => l.field === 'name'))
      .toEqual({ field: 'name', system: 'manual', stream: 'graphql', externalId: 'apikey:test-admin', pinned: true });
    expect(await customerAudit()).toEqual([
      { field: 'name', before: '张伟', after: '张伟 (经销商)', actor: 'apikey:test-admin', origin: 'graphql' },
      { field: 'name.pinned', before: false, after: true, actor: 'apikey:test-admin', origin: 'graphql' },
    ]);
    // stored compact, as the merge writes it
    const [stored] = await sqlRows<any>(hub.server.orm, 'select lineage from customer where id = ?', [customerId]);
    expect(Array.isArray(stored.lineage['~'])).toBe(true);

    // The CRM (first source for names after manual) sends a newer, different name and a new region.
    await crmSync({ phone: '+8613800138111', name: '张伟 CRM', region: '华南' }, '2099-01-01T00:00:00.000Z');
    const after = await hub.gql(LOOKUP, { id: '13800138111' });
    expect(after.data.lookup.customer.name).toBe('张伟 (经销商)');
    expect(after.data.lookup.customer.region).toBe('华南');
    expect(after.data.lookup.customer.lineage.find((l: any) => l.field === 'name'))
      .toEqual({ field: 'name', system: 'manual', externalId: 'apikey:test-admin', pinned: true });

    const u = await hub.gql(UNPIN_CUSTOMER, { id: customerId, fields: ['NAME'] }, hub.keys.admin);
    expect(u.errors).toBeUndefined();
    expect(u.data.unpinCustomerFields.name).toBe('张伟 (经销商)'); // the value stays until a source brings another
    expect(u.data.unpinCustomerFields.lineage.find((l: any) => l.field === 'name')).toEqual({ field: 'name', system: 'manual', pinned: false });
    expect((await customerAudit()).at(-1)).toMatchObject({ field: 'name.pinned', before: true, after: false });

    await crmSync({ phone: '+8613800138111', name: '张伟 CRM', region: '华南' }, '2099-01-02T00:00:00.000Z');
    const replaced = await hub.gql(LOOKUP, { id: '13800138111' });
    expect(replaced.data.lookup.customer.name).toBe('张伟 CRM');
    expect(replaced.data.lookup.customer.lineage.find((l: any) => l.field === 'name')).toMatchObject({ system: 'crm', pinned: false });
  });

  it('keeps a value cleared by hand and pinned empty through a sync', async () => {
    const r = await hub.gql(SET_CUSTOMER, { id: customerId, input: { region: null } }, hub.keys.admin);
    expect(r.errors).toBeUndefined();
    expect(r.data.setCustomerFields.region).toBeNull();
    await crmSync({ phone: '+8613800138111', region: '华北' }, '2099-02-01T00:00:00.000Z');
    const after = await hub.gql(LOOKUP, { id: '13800138111' });
    expect(after.data.lookup.customer.region).toBeNull();
    expect(after.data.lookup.customer.lineage.find((l: any) => l.field === 'region')).toMatchObject({ system: 'manual', pinned: true });
  });

  it('sets device fields with the owner by phone in any written form, pinned or not', async () => {
    const r = await hub.gql(SET_DEVICE, {
      serial: ' gf-dev-1 ', input: { model: 'KFR-72LW/N8HR3', warrantyEnd: '2027-06-30', ownerPhone: '138 0013 8111' }, pin: false,
    }, hub.keys.admin);
    expect(r.errors).toBeUndefined();
    expect(r.data.setDeviceFields).toMatchObject({ serial: 'GF-DEV-1', warrantyEnd: '2027-06-30', purchaseDate: '2024-01-01', owner: { phone: '+8613800138111' } });
    expect(r.data.setDeviceFields.lineage).toEqual(expect.arrayContaining([
      { field: 'owner', system: 'manual', pinned: false }, { field: 'warrantyEnd', system: 'manual', pinned: false },
    ]));
    const [audit] = await sqlRows<any>(hub.server.orm,
      `select after from audit_log where entity_type = 'device' and field = 'owner' and entity_id = (select id from device where serial = 'GF-DEV-1')`);
    expect(audit.after).toBe(customerId);
  });

  it('refuses bad input naming the field, unknown records with NOT_FOUND, stale versions with CONFLICT', async () => {
    const bad = async (query: string, vars: Record<string, unknown>, code: string, field: string) => {
      const r = await hub.gql(query, vars, hub.keys.admin);
      expect(r.errors?.[0].extensions).toMatchObject({ code, field });
    };
    await bad(SET_DEVICE, { serial: 'GF-DEV-1', input: { warrantyEnd: '2027-02-30' } }, 'BAD_USER_INPUT', 'input.warrantyEnd');
    await bad(SET_DEVICE, { serial: 'GF-DEV-1', input: { purchaseDate: '30/06/2027' } }, 'BAD_USER_INPUT', 'input.purchaseDate');
    await bad(SET_DEVICE, { serial: 'GF-DEV-1', input: { ownerPhone: 'not a phone' } }, 'BAD_USER_INPUT', 'input.ownerPhone');
    await bad(SET_DEVICE, { serial: 'GF-DEV-1', input: { ownerPhone: '13900000000' } }, 'NOT_FOUND', 'input.ownerPhone');
    await bad(SET_DEVICE, { serial: 'GF-DEV-1', input: { ownerPhone: '13800138111', ownerId: customerId } }, 'BAD_USER_INPUT', 'input.ownerId');
    await bad(SET_DEVICE, { serial: 'NO-SUCH-DEV', input: { model: 'X' } }, 'NOT_FOUND', 'serial');
    await bad(SET_CUSTOMER, { id: customerId, input: { name: null } }, 'BAD_USER_INPUT', 'input.name');
    await bad(SET_CUSTOMER, { id: customerId, input: {} }, 'BAD_USER_INPUT', 'input');
    await bad(SET_CUSTOMER, { id: '999999999', input: { tier: 'VIP' } }, 'NOT_FOUND', 'id');
    const [{ version }] = await sqlRows<any>(hub.server.orm, 'select version from customer where id = ?', [customerId]);
    await bad(SET_CUSTOMER, { id: customerId, input: { tier: 'VIP' }, v: version - 1 }, 'CONFLICT', 'expectedVersion');
    const ok = await hub.gql(SET_CUSTOMER, { id: customerId, input: { tier: 'VIP' }, v: version }, hub.keys.admin);
    expect(ok.data.setCustomerFields).toMatchObject({ tier: 'VIP', version: version + 1 });
  });

  it('is for admin keys only: a portal key gets FORBIDDEN and nothing changes', async () => {
    const r = await hub.gql(SET_CUSTOMER, { id: customerId, input: { name: 'portal was here' } }, hub.keys.portal);
    expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const u = await hub.gql(UNPIN_CUSTOMER, { id: customerId, fields: ['REGION'] }, hub.keys.portal);
    expect(u.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const [row] = await sqlRows<any>(hub.server.orm, 'select name from customer where id = ?', [customerId]);
    expect(row.name).not.toBe('portal was here');
  });
});
