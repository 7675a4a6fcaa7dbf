/**
 * A record that would create a golden row without a value for a NOT NULL column (a new customer
 * whose name is blank: mappings send name null for it) fails alone with MISSING_FIELD naming the
 * field. Before, the page's insert failed with 23502, the cursor stayed where it was, and every
 * later run failed the same way.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Connector, SourcePage } from '../../src/connectors';
import { sqlOne, sqlRows } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { SyncPipeline } from '../../src/sync/pipeline';
import { useTestDatabase } from '../support/databases';

describe('sync of a new customer without a name', () => {
  const db = useTestDatabase();
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'junction-mappings-'));
    mkdirSync(join(root, 'testsrc'));
    // As kingdee/customers maps FName: blank names become null.
    writeFileSync(join(root, 'testsrc', 'people.jsonata'), '{ "entity": "customer", "phone": phone, "name": FName ? $trim(FName) : null, "region": region }');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const pipelineOf = (pages: SourcePage[]) => {
    async function* read(cursor: string | null): AsyncIterable<SourcePage> {
      for (const p of pages) if (!cursor || p.cursor! > cursor) yield p;
    }
    const connector: Connector = { name: 'src', streams: { people: { name: 'people', entity: 'customer', read } }, healthCheck: async () => ({ ok: true }) };
    return new SyncPipeline(db.orm, new MappingEngine({ root }), new Map([['src', { name: 'src', type: 'testsrc', system: 'erp', connector }]]));
  };

  it('fails that record with MISSING_FIELD (name), merges the rest and moves the cursor on', async () => {
    await sqlRows(db.orm, `insert into customer (phone, name) values ('+8613900000009', '老客户')`);
    const r = await pipelineOf([
      {
        records: [
          { externalId: 'K1', version: '1', payload: { phone: '13900000001', FName: '甲' } },
          { externalId: 'K2', version: '1', payload: { phone: '13900000002', FName: '  ' } },
          // An existing customer is still updated by a record without a name.
          { externalId: 'K9', version: '1', payload: { phone: '13900000009', FName: null, region: '华东' } },
        ],
        cursor: 'c1', hasMore: true,
      },
      { records: [{ externalId: 'K3', version: '1', payload: { phone: '13900000003', FName: '丙' } }], cursor: 'c2', hasMore: false },
    ]).runStream('src', 'people', { trigger: 'cli' });
    expect(r).toMatchObject({ status: 'PARTIAL', fetched: 4, merged: 3, failed: 1 });
    expect(await sqlRows<any>(db.orm, `select phone, name, region from customer order by phone`)).toEqual([
      { phone: '+8613900000001', name: '甲', region: null },
      { phone: '+8613900000003', name: '丙', region: null },
      { phone: '+8613900000009', name: '老客户', region: '华东' },
    ]);
    const k2 = await sqlOne<any>(db.orm, `select status, error from source_record where external_id = 'K2'`);
    expect(k2).toMatchObject({ status: 'FAILED', error: { code: 'MISSING_FIELD', field: 'name' } });
    expect(k2.error.message).toContain('customer.name');
    expect(await sqlOne<any>(db.orm, `select cursor from sync_state where connector = 'src' and stream = 'people'`)).toEqual({ cursor: 'c2' });
    expect(await sqlOne<any>(db.orm, `select count(*)::int as n from source_link where external_id = 'K2'`)).toEqual({ n: 0 });
  });
});
