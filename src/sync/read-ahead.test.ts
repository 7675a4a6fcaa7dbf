/**
 * Reading one page ahead: the next page is fetched (and mapped) while a page's transaction runs,
 * but pages still commit one at a time, each with its own cursor. Real PostgreSQL, the real
 * pipeline, a stand-in source whose pages are known in advance.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Connector, SourcePage, SourceRecord } from '../connectors';
import { sqlOne, sqlRows } from '../db/sql';
import { BAILED, CompiledMapping, MappingEngine } from '../mapping/engine';
import { useTestDatabase } from '../../tests/support/databases';
import { untilAdvisoryLockWaits } from '../../tests/support/locks';
import { PEOPLE_MAPPING } from '../../tests/support/sync';
import { MERGE_LOCK } from './merge';
import { SyncPipeline } from './pipeline';
import { readAhead } from './read-ahead';

const PHONES: Record<string, string> = { a1: '001', a2: '002', a3: '003', b1: '011', b2: '012', c1: '021', bad: '099' };
const person = (id: string, name: string, phone = `+8613800138${PHONES[id]}`): SourceRecord =>
  ({ externalId: id, version: '1', payload: { phone, name } });

/** A source serving `pages` in order; cursor `page-k` resumes after page k. `asked[k]` resolves when page k is asked for. */
function pagedSource(pages: SourceRecord[][]) {
  const asked: Array<{ promise: Promise<void>; resolve: () => void }> = pages.map(() => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => { resolve = r; });
    return { promise, resolve };
  });
  let requested = 0;
  async function* read(cursor: string | null): AsyncIterable<SourcePage> {
    const start = cursor ? Number(cursor.replace('page-', '')) : 0;
    for (let k = start; k < pages.length; k++) {
      requested = Math.max(requested, k + 1);
      asked[k].resolve();
      yield { records: pages[k], cursor: `page-${k + 1}`, hasMore: k + 1 < pages.length };
    }
  }
  const connector: Connector = { name: 'src', streams: { people: { name: 'people', entity: 'customer', read } }, healthCheck: async () => ({ ok: true }) };
  return { connector, asked: (k: number) => asked[k - 1].promise, get requested() { return requested; } };
}

/** Resolves once a session of `database` has staged a page and sits idle in its transaction. */
async function untilStagedAndWaiting(orm: MikroORM, database: string): Promise<void> {
  for (;;) {
    const [w] = await sqlRows<{ n: number }>(orm,
      `select count(*)::int as n from pg_stat_activity
        where datname = ? and state = 'idle in transaction' and query like 'insert into source_record%'`, [database]);
    if (w.n > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The real engine, noting each record it maps (by externalId). */
class WatchedEngine extends MappingEngine {
  readonly mapped: string[] = [];
  private readonly wrapped = new Map<CompiledMapping, CompiledMapping>();
  private waiting: Array<{ id: string; resolve: () => void }> = [];

  /** Resolves once record `id` has been mapped. */
  mappedOnce(id: string): Promise<void> {
    if (this.mapped.includes(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ id, resolve }));
  }

  override get(name: string): CompiledMapping {
    const inner = super.get(name);
    let w = this.wrapped.get(inner);
    if (!w) {
      w = {
        ...inner,
        // Every record through evaluate, so each one is seen (the fast path would skip the watch).
        evaluateSync: () => BAILED,
        evaluate: async (input, bindings) => {
          const id = String(bindings?.externalId);
          this.mapped.push(id);
          this.waiting.filter((x) => x.id === id).forEach((x) => x.resolve());
          return inner.evaluate(input, bindings);
        },
      };
      this.wrapped.set(inner, w);
    }
    return w;
  }
}

describe('readAhead', () => {
  async function* numbers(n: number, log: string[]) {
    try {
      for (let i = 1; i <= n; i++) {
        log.push(`fetch ${i}`);
        yield i;
      }
    } finally {
      log.push('closed');
    }
  }

  it('fetches the next item before handing out the current one, never two ahead', async () => {
    const log: string[] = [];
    for await (const i of readAhead(numbers(3, log), async (x) => x)) log.push(`use ${i}`);
    expect(log).toEqual(['fetch 1', 'fetch 2', 'use 1', 'fetch 3', 'use 2', 'closed', 'use 3']);
  });

  it('drops what was read ahead when the caller stops, and closes the source', async () => {
    const log: string[] = [];
    const prepared: number[] = [];
    await expect((async () => {
      for await (const i of readAhead(numbers(5, log), async (x) => { prepared.push(x); return x; })) {
        log.push(`use ${i}`);
        if (i === 2) throw new Error('page 2 failed');
      }
    })()).rejects.toThrow('page 2 failed');
    expect(log).toEqual(['fetch 1', 'fetch 2', 'use 1', 'fetch 3', 'use 2', 'closed']);
    expect(prepared).toEqual([1, 2, 3]);
  });

  it('raises a failed read ahead only when its turn comes', async () => {
    async function* failing() {
      yield 1;
      throw new Error('source down');
    }
    const used: number[] = [];
    await expect((async () => {
      for await (const i of readAhead(failing(), async (x) => x)) used.push(i);
    })()).rejects.toThrow('source down');
    expect(used).toEqual([1]);
  });
});

describe('sync reading one page ahead', () => {
  const db = useTestDatabase();
  let root: string;
  let engine: MappingEngine;
  const pipelineOver = (pages: SourceRecord[][]) => {
    const source = pagedSource(pages);
    const pipeline = new SyncPipeline(db.orm, engine, new Map([['src', { name: 'src', type: 'testsrc', system: 'crm', connector: source.connector }]]));
    return { source, pipeline };
  };
  const cursor = async () => (await sqlOne<{ cursor: string }>(db.orm, `select cursor from sync_state where connector = 'src' and stream = 'people'`))?.cursor ?? null;
  const stored = async () => (await sqlRows<{ external_id: string }>(db.orm, `select external_id from source_record where connector = 'src' order by external_id`)).map((r) => r.external_id);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'junction-mappings-'));
    mkdirSync(join(root, 'testsrc'));
    writeFileSync(join(root, 'testsrc', 'people.jsonata'), PEOPLE_MAPPING);
    engine = new MappingEngine({ root });
  });
  afterAll(async () => {
    rmSync(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await sqlRows(db.orm, `truncate source_record, source_link, sync_state, sync_run, customer, audit_log, data_issue cascade`);
  });

  it('stages page 2 in its own transaction and reads page 3 ahead while page 1 waits to merge; writes nothing visible early, reads no further, maps each record once', async () => {
    const watched = new WatchedEngine({ root });
    const source = pagedSource([[person('a1', 'A1'), person('a2', 'A2')], [person('b1', 'B1')], [person('c1', 'C1')], [person('a3', 'A3')]]);
    const pipeline = new SyncPipeline(db.orm, watched, new Map([['src', { name: 'src', type: 'testsrc', system: 'crm', connector: source.connector }]]));
    // Hold the merge lock: page 1's transaction blocks in Merger.merge until it is released.
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query(`select pg_advisory_lock(${MERGE_LOCK})`);
      const run = pipeline.runStream('src', 'people', { trigger: 'cli', full: true });
      await untilAdvisoryLockWaits(db.orm);
      // Page 2's transaction stages its records and then waits (idle in transaction) for page 1's
      // commit; page 3 is fetched and mapped meanwhile. Without overlapping, none of this happens
      // before page 1 commits: these never resolve.
      await untilStagedAndWaiting(db.orm, db.name);
      await source.asked(3);
      await watched.mappedOnce('c1');
      expect(source.requested).toBe(3);
      expect(await stored()).toEqual([]);
      expect(await cursor()).toBeNull();
      await blocker.query(`select pg_advisory_unlock(${MERGE_LOCK})`);
      const r = await run;
      expect(r).toMatchObject({ status: 'SUCCEEDED', pages: 4, fetched: 5, merged: 5 });
      expect(await cursor()).toBe('page-4');
      expect(await stored()).toEqual(['a1', 'a2', 'a3', 'b1', 'c1']);
      expect([...watched.mapped].sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'c1']); // what was mapped ahead is not mapped again
      // Merged in page order: the audit rows of page 1 come before page 2's, page 2's before page 3's.
      const order = await sqlRows<{ origin: string }>(db.orm, `select origin from audit_log order by id`);
      expect(order.map((o) => o.origin.split(':').pop())).toEqual(['a1', 'a2', 'b1', 'c1', 'a3']);
    } finally {
      await blocker.end();
    }
  });

  it('a cancel while page 1 merges commits page 1 and rolls back page 2, already staged', async () => {
    const { source, pipeline } = pipelineOver([[person('a1', 'A1')], [person('b1', 'B1')], [person('c1', 'C1')]]);
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query(`select pg_advisory_lock(${MERGE_LOCK})`);
      const abort = new AbortController();
      const run = pipeline.runStream('src', 'people', { trigger: 'cli', full: true, signal: abort.signal });
      await untilAdvisoryLockWaits(db.orm);
      await untilStagedAndWaiting(db.orm, db.name);
      abort.abort();
      await blocker.query(`select pg_advisory_unlock(${MERGE_LOCK})`);
      const r = await run;
      expect(r).toMatchObject({ status: 'FAILED', pages: 1, fetched: 1, merged: 1, error: 'sync was cancelled' });
      expect(source.requested).toBe(3);
      expect(await cursor()).toBe('page-1');
      expect(await stored()).toEqual(['a1']);
    } finally {
      await blocker.end();
    }
  });

  it('commits neither a failing page nor the page read ahead, keeps the cursor, and resumes without gaps or duplicates', async () => {
    await sqlRows(db.orm, `create or replace function test_refuse_boom() returns trigger language plpgsql as $$
      begin if new.name = 'Boom' then raise exception 'refused by test'; end if; return new; end $$`);
    await sqlRows(db.orm, `create trigger test_refuse_boom before insert on customer for each row execute function test_refuse_boom()`);
    const pages = [[person('a1', 'A1'), person('a2', 'A2')], [person('b1', 'Boom'), person('b2', 'B2')], [person('c1', 'C1')]];
    try {
      const { source, pipeline } = pipelineOver(pages);
      const first = await pipeline.runStream('src', 'people', { trigger: 'cli' });
      expect(first).toMatchObject({ status: 'FAILED', pages: 1, fetched: 2, merged: 2 });
      expect(first.error).toMatch(/refused by test/);
      expect(source.requested).toBe(3); // page 3 was read ahead while page 2 failed ...
      expect(await cursor()).toBe('page-1'); // ... and neither its cursor nor its records were written
      expect(await stored()).toEqual(['a1', 'a2']);
    } finally {
      await sqlRows(db.orm, `drop trigger test_refuse_boom on customer`);
    }
    const { pipeline } = pipelineOver(pages);
    const second = await pipeline.runStream('src', 'people', { trigger: 'cli' });
    expect(second).toMatchObject({ status: 'SUCCEEDED', pages: 2, fetched: 3, merged: 3, unchanged: 0 });
    expect(await cursor()).toBe('page-3');
    expect(await stored()).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);
    const links = await sqlRows<{ n: number; d: number }>(db.orm, `select count(*)::int n, count(distinct external_id)::int d from source_link where system = 'src'`);
    expect(links[0]).toEqual({ n: 5, d: 5 });
    expect((await sqlOne<{ n: number }>(db.orm, `select count(*)::int n from customer`))!.n).toBe(5);
  });

  it('decides what changed in the page\'s own transaction, whatever was mapped ahead', async () => {
    // a1 comes again unchanged on page 2 (mapped ahead while page 1, which stores it, is not yet
    // committed) and changed on page 3; "bad" fails its mapping and is fixed on page 3.
    const { pipeline } = pipelineOver([
      [person('a1', 'Ann'), person('a2', 'Bob'), person('bad', 'Bad', 'not-a-phone')],
      [person('a1', 'Ann'), person('a3', 'Cy')],
      [person('a1', 'Anna'), person('bad', 'Bad', '+8613800138999')],
    ]);
    const r = await pipeline.runStream('src', 'people', { trigger: 'cli', full: true });
    expect(r).toMatchObject({ status: 'PARTIAL', pages: 3, fetched: 7, unchanged: 1, merged: 5, failed: 1 });
    const ann = await sqlOne<{ id: string; name: string }>(db.orm, `select id, name from customer where phone = '+8613800138001'`);
    expect(ann!.name).toBe('Anna');
    const audit = await sqlRows<any>(db.orm, `select field, before, after from audit_log where entity_type = 'customer' and entity_id = ? and field = 'name'`, [ann!.id]);
    expect(audit).toEqual([{ field: 'name', before: 'Ann', after: 'Anna' }]);
    const version = engine.get('testsrc/people').version;
    const rows = await sqlRows<any>(db.orm, `select external_id, status, error, mapping_version, mapped_at is not null as mapped from source_record order by external_id`);
    expect(rows).toEqual([
      { external_id: 'a1', status: 'MERGED', error: null, mapping_version: version, mapped: true },
      { external_id: 'a2', status: 'MERGED', error: null, mapping_version: version, mapped: true },
      { external_id: 'a3', status: 'MERGED', error: null, mapping_version: version, mapped: true },
      { external_id: 'bad', status: 'MERGED', error: null, mapping_version: version, mapped: true },
    ]);
  });

  it('does not map ahead what is already merged unchanged', async () => {
    const watched = new WatchedEngine({ root });
    const run = (pages: SourceRecord[][]) => new SyncPipeline(db.orm, watched, new Map([['src', { name: 'src', type: 'testsrc', system: 'crm', connector: pagedSource(pages).connector }]]))
      .runStream('src', 'people', { trigger: 'cli', full: true });
    expect(await run([[person('a1', 'Ann'), person('a2', 'Bob')]])).toMatchObject({ status: 'SUCCEEDED', merged: 2 });
    watched.mapped.length = 0;
    expect(await run([[person('a1', 'Ann'), person('a2', 'Bobby')], [person('a3', 'Cy')]])).toMatchObject({ status: 'SUCCEEDED', unchanged: 1, merged: 2 });
    expect(watched.mapped.sort()).toEqual(['a2', 'a3']);
  });

  it('matches a customer record without a phone through the link of the same source record', async () => {
    const noPhone = (id: string, name: string): SourceRecord => ({ externalId: id, version: '2', payload: { name } });
    const { pipeline } = pipelineOver([[person('a1', 'Ann'), person('a2', 'Bob')], [noPhone('a1', 'Ann Lee'), noPhone('a3', 'Nobody')]]);
    const r = await pipeline.runStream('src', 'people', { trigger: 'cli', full: true });
    expect(r).toMatchObject({ status: 'PARTIAL', fetched: 4, merged: 3, failed: 1 });
    expect(await sqlRows<any>(db.orm, `select phone, name from customer order by phone`)).toEqual([
      { phone: '+8613800138001', name: 'Ann Lee' },
      { phone: '+8613800138002', name: 'Bob' },
    ]);
    const a3 = await sqlOne<any>(db.orm, `select status, error from source_record where external_id = 'a3'`);
    expect(a3).toMatchObject({ status: 'FAILED', error: { code: 'MISSING_KEY' } });
  });

  it('stages and merges records holding U+0000 or a lone surrogate (which PostgreSQL cannot store) with U+FFFD in their place, and the run goes on', async () => {
    const page = () => [
      person('a1', 'Ann'), person('b1', 'Bo\u0000b'),
      // A name cut to a length limit between the two halves of an emoji.
      person('b2', '王\uD83D'),
      { externalId: 'c1', version: '1', payload: { phone: '+8613800138021', name: 'C', note: { 'k\u0000': 'x\u0000y', cut: '\uDE00' } } },
    ];
    const r = await pipelineOver([page()]).pipeline.runStream('src', 'people', { trigger: 'cli', full: true });
    expect(r).toMatchObject({ status: 'SUCCEEDED', fetched: 4, merged: 4, failed: 0 });
    expect(await sqlRows<any>(db.orm, `select name from customer order by phone`)).toEqual([{ name: 'Ann' }, { name: 'Bo\uFFFDb' }, { name: '王\uFFFD' }, { name: 'C' }]);
    const c1 = await sqlOne<any>(db.orm, `select payload from source_record where external_id = 'c1'`);
    expect(c1.payload.note).toEqual({ 'k\uFFFD': 'x\uFFFDy', cut: '\uFFFD' });
    // The same records again: the same hashes, so nothing changed.
    const again = await pipelineOver([page()]).pipeline.runStream('src', 'people', { trigger: 'cli', full: true });
    expect(again).toMatchObject({ status: 'SUCCEEDED', fetched: 4, unchanged: 4 });
    // Two ids that differ only by such a character are one record once stored: the later copy wins, the page goes on.
    const twins = await pipelineOver([[person('a1', 'Ann'), { ...person('c1', 'Cee'), externalId: 'b1\u0000' }, { ...person('c1', 'Cee 2'), externalId: 'b1\uFFFD' }]])
      .pipeline.runStream('src', 'people', { trigger: 'cli', full: true });
    expect(twins).toMatchObject({ status: 'SUCCEEDED', fetched: 3, merged: 1 });
    expect(await sqlOne<any>(db.orm, `select name from customer where phone = '+8613800138021'`)).toEqual({ name: 'Cee 2' });
  });

  it('keeps a failed record FAILED with its error and the mapping version that failed it', async () => {
    const { pipeline } = pipelineOver([[person('a1', 'Ann'), person('bad', 'Bad', 'not-a-phone')]]);
    const r = await pipeline.runStream('src', 'people', { trigger: 'cli', full: true });
    expect(r).toMatchObject({ status: 'PARTIAL', fetched: 2, merged: 1, failed: 1 });
    const bad = await sqlOne<any>(db.orm, `select status, error, mapping_version, mapped_at is not null as mapped from source_record where external_id = 'bad'`);
    expect(bad).toMatchObject({ status: 'FAILED', mapping_version: engine.get('testsrc/people').version, mapped: true });
    expect(bad.error.message).toMatch(/phone/i);
    // Fetched again unchanged, a FAILED record is tried again (only MERGED ones are skipped).
    const again = await pipelineOver([[person('a1', 'Ann'), person('bad', 'Bad', 'not-a-phone')]]).pipeline.runStream('src', 'people', { trigger: 'cli', full: true });
    expect(again).toMatchObject({ fetched: 2, unchanged: 1, failed: 1 });
  });
});
