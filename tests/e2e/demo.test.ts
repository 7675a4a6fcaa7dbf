import { loadDemoData } from '../../src/demo/load';
import { startTestHub, TestHub } from '../support/server';

/** The demo data set answers `lookup` for every written form of a phone (README promise). */
describe('demo data through the gateway', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
    await loadDemoData(hub.server.orm);
  });
  afterAll(() => hub.stop());

  const q = `query($id: String!) { lookup(identifier: $id) { matchedBy customer { name phone devices { serial model }
    tickets(first: 50) { totalCount edges { node { number status } } } } device { serial } ticket { number status } } }`;

  it.each(['13800138000', '138 0013 8000', '+86-138-0013-8000', '(0086)13800138000', '１３８００１３８０００'])(
    'finds 张伟 by %s', async (written) => {
      const r = await hub.gql(q, { id: written });
      expect(r.errors).toBeUndefined();
      expect(r.data.lookup.matchedBy).toBe('PHONE');
      expect(r.data.lookup.customer).toMatchObject({ name: '张伟', phone: '+8613800138000' });
      expect(r.data.lookup.customer.devices.map((d: any) => d.model)).toContain('KFR-72LW/N8HR3');
    });

  it('finds the README ticket and its device', async () => {
    const r = await hub.gql(q, { id: 'T20260218-8892' });
    expect(r.data.lookup.matchedBy).toBe('TICKET_NUMBER');
    expect(r.data.lookup.customer.name).toBe('张伟');
    expect(r.data.lookup.device.serial).toBeTruthy();
  });

  it('has tickets in every status', async () => {
    const r = await hub.gql(`{ tickets(first: 100) { totalCount edges { node { status } } } }`);
    expect(r.data.tickets.totalCount).toBe(150);
    const seen = new Set<string>();
    let after: string | null = null;
    for (;;) {
      const page: any = await hub.gql(`query($a: String) { tickets(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { status } } } }`, { a: after });
      for (const e of page.data.tickets.edges) seen.add(e.node.status);
      if (!page.data.tickets.pageInfo.hasNextPage) break;
      after = page.data.tickets.pageInfo.endCursor;
    }
    expect([...seen].sort()).toEqual(['ASSIGNED', 'CANCELLED', 'CLOSED', 'IN_PROGRESS', 'NEW', 'PENDING', 'RESOLVED']);
  });
});
