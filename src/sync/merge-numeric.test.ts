import { sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import { atScale, MergeItem, Merger } from './merge';

describe('atScale', () => {
  it('writes decimals at the column scale, rounding half away from zero like numeric(14,2)', () => {
    expect(['5999', '5999.0', '5999.00', '5999.005', '5999.0049', '-1.005', '0', '-0.001', '.5', 12.5, '0.995']
      .map((v) => atScale(v, 2))).toEqual(['5999.00', '5999.00', '5999.00', '5999.01', '5999.00', '-1.01', '0.00', '0.00', '0.50', '12.50', '1.00']);
    expect(atScale('abc', 2)).toBe('abc');
    expect(atScale(null, 2)).toBeNull();
  });
});

describe('merge of numeric values', () => {
  const db = useTestDatabase();

  const merge = (items: Array<Omit<MergeItem, 'index' | 'version'>>) => db.orm.em.fork().transactional(async (em) => {
    const merger = new Merger(em, { connector: 'erp', system: 'erp', stream: 'sales_orders' });
    expect((await merger.merge(items.map((i, index) => ({ ...i, index, version: null })))).size).toBe(0);
  });
  const line = (quantity: number, at: string): Omit<MergeItem, 'index' | 'version'> =>
    ({ externalId: 'SO-NUM-1/1', at, record: { entity: 'purchase', fields: { orderNumber: 'SO-NUM-1', lineNo: 1, quantity, amount: '5999' } } });

  it('compares a stored amount (5999.00) with the incoming one (5999) by value: no audit row nor write for it', async () => {
    await merge([line(1, '2026-12-01T00:00:00.000Z')]);
    await merge([line(2, '2026-12-02T00:00:00.000Z')]);
    const audit = await sqlRows<any>(db.orm,
      `select a.field, a.before, a.after from audit_log a join purchase p on p.id = a.entity_id
        where a.entity_type = 'purchase' and p.order_number = 'SO-NUM-1' and a.field <> '(created)' order by a.id`);
    expect(audit).toEqual([{ field: 'quantity', before: 1, after: 2 }]);
    const [p] = await sqlRows<any>(db.orm, `select amount, quantity, junction_field_lineage(lineage, 'amount') ->> 'at' as amount_at from purchase where order_number = 'SO-NUM-1'`);
    expect(p).toEqual({ amount: '5999.00', quantity: 2, amount_at: '2026-12-01T00:00:00.000Z' });
  });
});
