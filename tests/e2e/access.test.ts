import { startTestHub, TestHub } from '../support/server';
import { sqlRows } from '../../src/db/sql';

describe('access and limits', () => {
  let hub: TestHub;
  beforeAll(async () => { hub = await startTestHub({ maxQueryDepth: 6, maxQueryCost: 5000 }); });
  afterAll(() => hub.stop());

  const q = '{ lookup(identifier: "13800138000") { matchedBy } }';

  it('needs a key', async () => {
    const r = await hub.gql(q, {}, null);
    expect(r.status).toBe(401);
    expect(r.errors![0].extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a wrong key', async () => {
    const r = await hub.gql(q, {}, 'jk_portal_this-key-does-not-exist-anywhere');
    expect(r.status).toBe(401);
    expect(r.errors![0].extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('stores keys only as hashes', async () => {
    const rows = await sqlRows<any>(hub.server.orm, 'select key_hash, prefix from api_key');
    for (const key of Object.values(hub.keys)) {
      expect(rows.some((r) => r.key_hash === key)).toBe(false);
      expect(rows.some((r) => r.key_hash.length === 64)).toBe(true);
    }
  });

  it('lets a portal key read but not call admin mutations', async () => {
    expect((await hub.gql(q)).data.lookup.matchedBy).toBe('NONE');
    const r = await hub.gql('mutation { createApiKey(name: "x", role: "admin") { key } }');
    expect(r.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'createApiKey' });
    expect(r.data).toBeNull();
  });

  it('keeps batch keys out of the unified view', async () => {
    const r = await hub.gql(q, {}, hub.keys.batch);
    expect(r.errors![0].extensions!.code).toBe('FORBIDDEN');
  });

  it('lets an admin create and revoke keys, never showing hashes', async () => {
    const created = await hub.gql('mutation { createApiKey(name: "ops", role: "portal") { key info { id role prefix } } }', {}, hub.keys.admin);
    expect(created.errors).toBeUndefined();
    const { key, info } = created.data.createApiKey;
    expect(key.startsWith(info.prefix)).toBe(true);
    expect((await hub.gql(q, {}, key)).data.lookup.matchedBy).toBe('NONE');
    const revoked = await hub.gql(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: info.id }, hub.keys.admin);
    expect(revoked.data.revokeApiKey).toBe(true);
    const badRole = await hub.gql('mutation { createApiKey(name: "x", role: "root") { key } }', {}, hub.keys.admin);
    expect(badRole.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'role' });
  });

  it('refuses queries deeper than the limit', async () => {
    const deep = '{ lookup(identifier: "1") { customer { devices { owner { devices { owner { devices { serial } } } } } } } }';
    const r = await hub.gql(deep);
    expect(r.status).toBe(400);
    expect(r.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_DEEP', maxDepth: 6 });
  });

  it('refuses queries whose cost is over the limit', async () => {
    const costly = '{ tickets(first: 100) { edges { node { history { changes } customer { devices { serial } } } } } }';
    const r = await hub.gql(costly);
    expect(r.status).toBe(400);
    expect(r.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 5000 });
  });

  it('refuses oversized request bodies', async () => {
    const res = await fetch(hub.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${hub.keys.portal}` },
      body: JSON.stringify({ query: `{ lookup(identifier: "${'1'.repeat(2_000_000)}") { matchedBy } }` }),
    });
    expect(res.status).toBe(413);
  });

  it('answers health and readiness without a key', async () => {
    const base = hub.server.url.replace('/graphql', '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { database: { ok: true }, redis: { ok: true } } });
  });
});
