import { sqlOne, sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import type { CanonicalRecord } from './canonical';
import { MergeSource, Merger } from './merge';

const CRM: MergeSource = { connector: 'crm', system: 'crm', stream: 'cases' };

/** A complaint reopened at its source. */
describe('merge of a reopened complaint', () => {
  const db = useTestDatabase();
  let n = 0;

  const merge = (source: MergeSource, records: CanonicalRecord[]) => db.orm.em.fork().transactional(async (em) => {
    const errors = await new Merger(em, source).merge(records.map((record, index) => ({
      index, externalId: `case-${record.fields.caseNumber}`, version: null, at: new Date(Date.UTC(2026, 11, 1, 0, 0, n++)).toISOString(), record,
    })));
    expect(errors.size).toBe(0);
  });
  const complaint = (caseNumber: string, status: string, closedAt?: string): CanonicalRecord =>
    ({ entity: 'complaint', fields: { caseNumber, subject: '不制冷', status, ...(closedAt ? { closedAt } : {}) } });
  const row = (caseNumber: string) => sqlOne<any>(db.orm,
    `select status, closed_at, junction_field_lineage(lineage, 'closedAt') ->> 'system' as owner from complaint where case_number = ?`, [caseNumber]);

  it('clears closed_at when the source that closed it says OPEN without a closedAt, with an audit row', async () => {
    await merge(CRM, [complaint('RE-1', 'CLOSED', '2026-12-01T10:00:00.000Z')]);
    expect(new Date((await row('RE-1')).closed_at).toISOString()).toBe('2026-12-01T10:00:00.000Z');
    await merge(CRM, [complaint('RE-1', 'OPEN')]);
    expect(await row('RE-1')).toEqual({ status: 'OPEN', closed_at: null, owner: 'crm' });
    const audit = await sqlRows<any>(db.orm,
      `select a.field, a.before, a.after from audit_log a join complaint c on c.id = a.entity_id
        where a.entity_type = 'complaint' and c.case_number = 'RE-1' and a.field <> '(created)' order by a.id`);
    expect(audit).toEqual(expect.arrayContaining([
      { field: 'status', before: 'CLOSED', after: 'OPEN' },
      { field: 'closedAt', before: '2026-12-01T10:00:00.000Z', after: null },
    ]));
    expect(audit).toHaveLength(2);
    // Again: nothing left to clear, nothing audited.
    await merge(CRM, [complaint('RE-1', 'OPEN')]);
    expect(await sqlOne<any>(db.orm, `select count(*)::int as n from audit_log where entity_type = 'complaint'`)).toEqual({ n: 3 });
  });

  it('keeps closed_at when the source that says OPEN may not write closedAt (a pinned value)', async () => {
    await merge(CRM, [complaint('RE-2', 'CLOSED', '2026-12-01T11:00:00.000Z')]);
    await sqlRows(db.orm, `update complaint set lineage = jsonb_set(junction_lineage(lineage), '{closedAt,pinned}', 'true') where case_number = 'RE-2'`);
    await merge(CRM, [complaint('RE-2', 'OPEN')]);
    const r = await row('RE-2');
    expect([r.status, new Date(r.closed_at).toISOString()]).toEqual(['OPEN', '2026-12-01T11:00:00.000Z']);
  });
});
