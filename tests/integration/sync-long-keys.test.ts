/**
 * A key longer than PostgreSQL's btree can index (a serial field holding a paragraph, say, or a
 * record id that long) fails its own record, not the page: before, the insert failed and with it
 * the page and every later run of the stream at that page.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { createHash } from 'crypto';
import { join } from 'path';
import type { Connector, SourcePage } from '../../src/connectors';
import { sqlOne, sqlRows } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { SyncPipeline } from '../../src/sync/pipeline';
import { useTestDatabase } from '../support/databases';

describe('sync with a key too long to index', () => {
  const db = useTestDatabase();
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'junction-mappings-'));
    mkdirSync(join(root, 'testsrc'));
    writeFileSync(join(root, 'testsrc', 'things.jsonata'), '{ "entity": "device", "serial": serial, "model": model }');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('fails that record with INVALID_FIELD and merges the rest of the page', async () => {
    // 3,200 hex digits (PostgreSQL's compression finds nothing to shorten): more than a btree entry holds (~2.7 KB).
    const paragraph = Array.from({ length: 50 }, (_, i) => createHash('sha256').update(String(i)).digest('hex')).join('');
    async function* read(): AsyncIterable<SourcePage> {
      yield {
        records: [
          { externalId: 'd1', version: '1', payload: { serial: 'SN-OK-1', model: 'M1' } },
          { externalId: 'd2', version: '1', payload: { serial: paragraph, model: 'M1' } },
          { externalId: 'd3', version: '1', payload: { serial: 'SN-OK-3', model: 'M1' } },
          // An id too long to be source_record's key: not staged, counted as failed, the page goes on.
          { externalId: paragraph, version: '1', payload: { serial: 'SN-LONG-ID', model: 'M1' } },
        ],
        cursor: 'c1', hasMore: false,
      };
    }
    const connector: Connector = { name: 'src', streams: { things: { name: 'things', entity: 'device', read } }, healthCheck: async () => ({ ok: true }) };
    const pipeline = new SyncPipeline(db.orm, new MappingEngine({ root }), new Map([['src', { name: 'src', type: 'testsrc', system: 'erp', connector }]]));
    const r = await pipeline.runStream('src', 'things', { trigger: 'cli', full: true });
    expect(r).toMatchObject({ status: 'PARTIAL', fetched: 4, unchanged: 0, merged: 2, failed: 2 });
    expect((await sqlRows<any>(db.orm, `select serial from device order by serial`)).map((d) => d.serial)).toEqual(['SN-OK-1', 'SN-OK-3']);
    const d2 = await sqlOne<any>(db.orm, `select status, error from source_record where external_id = 'd2'`);
    expect(d2).toMatchObject({ status: 'FAILED', error: { code: 'INVALID_FIELD', field: 'serial' } });
    expect(d2.error.message).toMatch(/^device\.serial: too long to index \(3200 bytes in UTF-8, at most 2000; starts "[0-9A-F]{40}…"\)$/);
    expect(await sqlOne<any>(db.orm, `select count(*)::int as n from source_record`)).toEqual({ n: 3 });
  });

  it('records a failed run whose error text (from the vendor) holds U+0000, with U+FFFD in its place', async () => {
    // eslint-disable-next-line require-yield
    async function* read(): AsyncIterable<SourcePage> {
      throw new Error('vendor said: bad\u0000request');
    }
    const connector: Connector = { name: 'src', streams: { things: { name: 'things', entity: 'device', read } }, healthCheck: async () => ({ ok: true }) };
    const pipeline = new SyncPipeline(db.orm, new MappingEngine({ root }), new Map([['src', { name: 'src', type: 'testsrc', system: 'erp', connector }]]));
    const r = await pipeline.runStream('src', 'things', { trigger: 'cli', full: true });
    expect(r).toMatchObject({ status: 'FAILED', error: 'vendor said: bad\uFFFDrequest' });
    expect(await sqlOne<any>(db.orm, `select status, error from sync_run where id = ?`, [r.runId])).toEqual({ status: 'FAILED', error: 'vendor said: bad\uFFFDrequest' });
  });
});
