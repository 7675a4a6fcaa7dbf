import { useTestDatabase } from '../../tests/support/databases';
import { decodeLineage, encodeLineage } from './lineage';
import { sqlOne } from './sql';

const erp = { system: 'erp', connector: 'erp', stream: 'sales_orders', externalId: 'XSDD1-1', at: '2026-01-02T00:00:00.000Z' };
const crm = { system: 'crm', stream: 'accounts', externalId: '001A', at: '2026-03-01T00:00:00.000Z', pinned: true };

describe('lineage codec', () => {
  it('writes each source once and reads back the full map', () => {
    const full = { model: erp, amount: erp, customer: crm, lineNo: { ...erp } };
    const text = encodeLineage(full);
    expect(JSON.parse(text)).toEqual({ '~': [erp, crm], model: 0, amount: 0, customer: 1, lineNo: 0 });
    expect(decodeLineage(JSON.parse(text))).toEqual(full);
  });

  it('reads the full form as it is, and nothing as an empty map', () => {
    expect(decodeLineage({ name: crm })).toEqual({ name: crm });
    expect(decodeLineage(null)).toEqual({});
    expect(decodeLineage(undefined)).toEqual({});
    expect(decodeLineage(JSON.parse(encodeLineage({})))).toEqual({});
  });
});

describe('lineage in SQL (junction_lineage, junction_field_lineage)', () => {
  const db = useTestDatabase();

  it.each([
    ['compact', encodeLineage({ model: erp, amount: erp, customer: crm })],
    ['full', JSON.stringify({ model: erp, amount: erp, customer: crm })],
  ])('reads the %s form like decodeLineage does', async (_form, text) => {
    const row = await sqlOne<any>(db.orm,
      `select junction_lineage(?::jsonb) as full, junction_field_lineage(?::jsonb, 'customer') as customer,
              junction_field_lineage(?::jsonb, 'firmware') as missing`, [text, text, text]);
    expect(row!.full).toEqual(decodeLineage(JSON.parse(text)));
    expect(row!.customer).toEqual(crm);
    expect(row!.missing).toBeNull();
  });
});
