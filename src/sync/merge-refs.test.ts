import { sqlOne, sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import type { CanonicalRecord, RecordError } from './canonical';
import { MergeItem, MergeSource, Merger } from './merge';

const ERP: MergeSource = { connector: 'erp', system: 'erp', stream: 'customers' };

/** How the merge turns customer references (phone, or another record of the connector) into ids. */
describe('customer references in the merge', () => {
  const db = useTestDatabase();
  let a: string;
  let b: string;
  let gone: string;

  beforeAll(async () => {
    await merge(ERP, [
      ['C-A', { entity: 'customer', fields: { phone: '+8613800000001', name: 'A' } }],
      ['C-B', { entity: 'customer', fields: { phone: '+8613800000002', name: 'B' } }],
      ['C-GONE', { entity: 'customer', fields: { phone: '+8613800000003', name: 'Gone' } }],
    ]);
    const id = async (phone: string) => String((await sqlOne<{ id: string }>(db.orm, `select id from customer where phone = ?`, [phone]))!.id);
    [a, b, gone] = [await id('+8613800000001'), await id('+8613800000002'), await id('+8613800000003')];
    // A customer removed after it was linked: its link is left behind, pointing at nothing.
    await sqlRows(db.orm, `delete from customer where id = ?`, [gone]);
  });

  async function merge(source: MergeSource, records: Array<[string, CanonicalRecord]>): Promise<Map<number, RecordError>> {
    return db.orm.em.fork().transactional(async (em) => {
      const items: MergeItem[] = records.map(([externalId, record], index) => ({ index, externalId, version: null, at: new Date().toISOString(), record }));
      return new Merger(em, source).merge(items);
    });
  }
  const device = (serial: string, owner: unknown): CanonicalRecord => ({ entity: 'device', fields: { serial, owner } });
  const ownerOf = async (serial: string) => {
    const row = await sqlOne<{ owner_id: string | null }>(db.orm, `select owner_id from device where serial = ?`, [serial]);
    return row ? (row.owner_id === null ? null : String(row.owner_id)) : undefined;
  };

  it('resolves by phone, by record of the connector, and the same reference twice in a page', async () => {
    const errors = await merge({ ...ERP, stream: 'serials' }, [
      ['S1', device('REFPHONE1', { phone: '+8613800000001' })],
      ['S2', device('REFLINK1', { ref: { stream: 'customers', externalId: 'C-B' } })],
      ['S3', device('REFLINK2', { ref: { stream: 'customers', externalId: 'C-B' } })],
      ['S4', device('REFNONE1', null)],
    ]);
    expect([...errors.keys()]).toEqual([]);
    expect(await ownerOf('REFPHONE1')).toBe(a);
    expect(await ownerOf('REFLINK1')).toBe(b);
    expect(await ownerOf('REFLINK2')).toBe(b);
    expect(await ownerOf('REFNONE1')).toBeNull();
  });

  it('prefers the phone when phone and record disagree, and falls back to the record when the phone is unknown', async () => {
    const errors = await merge({ ...ERP, stream: 'serials' }, [
      ['S5', device('REFBOTH1', { phone: '+8613800000001', ref: { stream: 'customers', externalId: 'C-B' } })],
      ['S6', device('REFBOTH2', { phone: '+8613899999999', ref: { stream: 'customers', externalId: 'C-B' } })],
    ]);
    expect([...errors.keys()]).toEqual([]);
    expect(await ownerOf('REFBOTH1')).toBe(a);
    expect(await ownerOf('REFBOTH2')).toBe(b);
  });

  it('keeps out records whose customer is unknown, deleted, or known only to another connector', async () => {
    const errors = await merge({ connector: 'crm', system: 'crm', stream: 'assets' }, [
      ['X1', device('REFMISS1', { ref: { stream: 'customers', externalId: 'C-NOBODY' } })],
      ['X2', device('REFMISS2', { phone: '+8613899999999' })],
      // C-B's link belongs to connector erp: a crm record cannot reach it by its external id.
      ['X3', device('REFOTHER', { ref: { stream: 'customers', externalId: 'C-B' } })],
      ['X4', device('REFOK', { phone: '+8613800000002' })],
    ]);
    expect([...errors.entries()].map(([i, e]) => [i, e.code, e.field])).toEqual([
      [0, 'UNRESOLVED_REFERENCE', 'owner'], [1, 'UNRESOLVED_REFERENCE', 'owner'], [2, 'UNRESOLVED_REFERENCE', 'owner'],
    ]);
    expect(await ownerOf('REFMISS1')).toBeUndefined();
    expect(await ownerOf('REFOTHER')).toBeUndefined();
    expect(await ownerOf('REFOK')).toBe(b);

    // The deleted customer's link is still there; following it would write a dangling owner id
    // (a foreign-key error failing the whole page). The record is kept out instead.
    expect(await sqlOne(db.orm, `select 1 from source_link where system = 'erp' and external_id = 'C-GONE' and entity_id = ?`, [gone])).toBeTruthy();
    const deleted = await merge({ ...ERP, stream: 'serials' }, [
      ['S7', device('REFGONE1', { ref: { stream: 'customers', externalId: 'C-GONE' } })],
      ['S8', device('REFLINK3', { ref: { stream: 'customers', externalId: 'C-A' } })],
    ]);
    expect([...deleted.entries()].map(([i, e]) => [i, e.code])).toEqual([[0, 'UNRESOLVED_REFERENCE']]);
    expect(await ownerOf('REFGONE1')).toBeUndefined();
    expect(await ownerOf('REFLINK3')).toBe(a);
  });

  it('resolves a purchase\'s customer the same way', async () => {
    const errors = await merge({ ...ERP, stream: 'sales_orders' }, [
      ['P1', { entity: 'purchase', fields: { orderNumber: 'SO-REF-1', lineNo: 1, customer: { ref: { stream: 'customers', externalId: 'C-A' } } } }],
      ['P2', { entity: 'purchase', fields: { orderNumber: 'SO-REF-2', lineNo: 1, customer: { ref: { stream: 'customers', externalId: 'C-GONE' } } } }],
    ]);
    expect([...errors.entries()].map(([i, e]) => [i, e.code, e.field])).toEqual([[1, 'UNRESOLVED_REFERENCE', 'customer']]);
    expect(await sqlRows<{ order_number: string; customer_id: string }>(db.orm, `select order_number, customer_id from purchase order by order_number`))
      .toEqual([{ order_number: 'SO-REF-1', customer_id: a }]);
  });
});
