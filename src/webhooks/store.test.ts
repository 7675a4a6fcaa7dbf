import { sqlRows } from '../db/sql';
import { Migration20261206100000WebhookSessionId } from '../db/migrations/Migration20261206100000WebhookSessionId';
import { useTestDatabase } from '../../tests/support/databases';

describe('webhook_event', () => {
  const db = useTestDatabase();

  it('migration WebhookSessionId redacts the session ids of rows stored before, and leaves other rows', async () => {
    const token = '00D5g000004XyZ1!AQ4AQLk9.x_Wq3v2e1Zb8fT0kYpRsU7mNcVd';
    const bodies = [`<n><SessionId>${token}</SessionId><Id>1</Id></n>`, '<n><SessionId xsi:nil="true"/></n>', '{"SessionId": 1}'];
    // More rows than one batch, so the walk by id is exercised.
    await sqlRows(db.orm, `insert into webhook_event (connector, kind, dedupe_key, payload, status)
      select 'crm', 'salesforce.outbound-message', 'k' || g, (?::jsonb) ->> (g % 3), 'PROCESSED' from generate_series(0, 1201) g`, [JSON.stringify(bodies)]);
    await new Migration20261206100000WebhookSessionId(db.orm.em.getDriver(), db.orm.config).up();
    const rows = await sqlRows<{ payload: string; n: string }>(db.orm, `select payload, count(*) as n from webhook_event group by payload`);
    expect(Object.fromEntries(rows.map((r) => [r.payload, Number(r.n)]))).toEqual({
      '<n><SessionId>[redacted]</SessionId><Id>1</Id></n>': 401,
      '<n><SessionId xsi:nil="true"/></n>': 401,
      '{"SessionId": 1}': 400,
    });
  });
});
