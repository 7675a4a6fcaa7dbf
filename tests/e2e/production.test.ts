import { startTestHub, TestHub } from '../support/server';
import { sqlRows } from '../../src/db/sql';

describe('production mode', () => {
  let hub: TestHub;
  beforeAll(async () => { hub = await startTestHub({ production: true }); });
  afterAll(() => hub.stop());

  it('turns introspection off', async () => {
    const r = await hub.gql('{ __schema { types { name } } }');
    expect(r.errors![0].extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('does not suggest field names', async () => {
    const r = await hub.gql('{ lookp(identifier: "1") { matchedBy } }');
    expect(r.errors![0].message).not.toMatch(/did you mean/i);
  });

  it('masks unexpected failures but keeps domain errors readable', async () => {
    // Break the store under the gateway: the resolver then fails in a way no client should see.
    await sqlRows(hub.server.orm, 'alter table telemetry rename to telemetry_gone');
    try {
      await sqlRows(hub.server.orm, `insert into customer (phone, name) values ('+8613800138000', '张伟')`);
      await sqlRows(hub.server.orm, `insert into device (serial, owner_id) select 'SN1', id from customer`);
      const r = await hub.gql('{ lookup(identifier: "13800138000") { customer { devices { telemetry { online } } } } }');
      expect(r.errors![0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(JSON.stringify([r.errors![0].message, r.errors![0].extensions])).not.toMatch(/telemetry|relation|stacktrace/);
      const domain = await hub.gql('{ customer(phone: "abc") { id } }');
      expect(domain.errors![0]).toMatchObject({ message: '"abc" is not a valid phone number', extensions: { code: 'BAD_USER_INPUT', field: 'phone' } });
    } finally {
      await sqlRows(hub.server.orm, 'alter table telemetry_gone rename to telemetry');
    }
  });
});
