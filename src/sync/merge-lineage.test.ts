import { sqlOne, sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import type { CanonicalRecord } from './canonical';
import { MergeSource, Merger } from './merge';

const EXCEL: MergeSource = { connector: 'excel', system: 'excel', stream: 'customers' };
const CRM: MergeSource = { connector: 'crm', system: 'crm', stream: 'accounts' };

/** Who owns a field when sources agree on its value. */
describe('lineage of a same value', () => {
  const db = useTestDatabase();
  let n = 0;

  const merge = (source: MergeSource, record: CanonicalRecord) => db.orm.em.fork().transactional(async (em) => {
    const errors = await new Merger(em, source).merge([{ index: 0, externalId: `r-${source.system}`, version: null, at: new Date(Date.UTC(2026, 11, 1, 0, 0, n++)).toISOString(), record }]);
    expect(errors.size).toBe(0);
  });
  const customer = (name: string): CanonicalRecord => ({ entity: 'customer', fields: { phone: '+8613700000001', name } });

  it('passes to a higher-ranked source sending the same value, which a lower-ranked one then cannot overwrite', async () => {
    await merge(EXCEL, customer('张三'));
    await merge(CRM, customer('张三'));
    const after = await sqlOne<any>(db.orm, `select name, junction_field_lineage(lineage, 'name') ->> 'system' as owner from customer where phone = '+8613700000001'`);
    expect(after).toEqual({ name: '张三', owner: 'crm' });
    await merge(EXCEL, customer('张三丰'));
    expect(await sqlOne<any>(db.orm, `select name, junction_field_lineage(lineage, 'name') ->> 'system' as owner from customer where phone = '+8613700000001'`))
      .toEqual({ name: '张三', owner: 'crm' });
    // The takeover changed no value: no audit row for it.
    expect(await sqlRows<any>(db.orm, `select field from audit_log where entity_type = 'customer' order by id`)).toEqual([{ field: '(created)' }]);
  });

  it('leaves the row alone when the same system sends the same value again', async () => {
    const updatedAt = async () => (await sqlOne<any>(db.orm, `select updated_at, version from customer where phone = '+8613700000001'`))!;
    const before = await updatedAt();
    await merge(CRM, customer('张三'));
    expect(await updatedAt()).toEqual(before);
  });
});
