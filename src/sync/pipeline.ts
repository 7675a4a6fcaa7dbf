import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Connector, SourceRecord } from '../connectors';
import { bulkExecutor, lockKeys, sqlOne, sqlRows } from '../db/sql';
import { evaluateEither, type CompiledMapping, type MappingEngine } from '../mapping/engine';
import { TicketEnricher } from '../enrichment/enricher';
import { MappingError } from '../mapping/errors';
import { CanonicalRecord, RecordError, toCanonical } from './canonical';
import { INDEX_KEY_MAX_BYTES, jsonMayHoldUnstorable, storable, tooLongToIndex } from '../db/storable-text';
import { hashedJson } from './hash';
import { MergeItem, Merger } from './merge';
import { readAhead } from './read-ahead';

/** Mapping ahead gives way to I/O (the previous page's statements) at least this often. */
const YIELD_EVERY_MS = 2;

/**
 * A page of a stream's records to retry at the end of run `?` (connector, stream, run id, after id,
 * page size): FAILED for a reference not there yet, and staged before the run started.
 */
export const UNRESOLVED_RECORDS_SQL =
  `select id, external_id, version, payload, coalesce(source_updated_at, fetched_at) as at from source_record
    where connector = ? and stream = ? and status = 'FAILED' and error ->> 'code' = 'UNRESOLVED_REFERENCE'
      and fetched_at < (select started_at from sync_run where id = ?) and id > ?
    order by id limit ?`;

/** Advisory lock namespace of pushed source records ('JPSH'). */
const PUSH_RECORD_LOCK = 0x4a505348;

export interface SyncOptions {
  full?: boolean;
  trigger: 'cli' | 'schedule' | 'api' | 'demo';
  pageSize?: number;
  onProgress?: (p: SyncProgress) => void;
  signal?: AbortSignal;
}

export interface SyncProgress {
  runId: string;
  connector: string;
  stream: string;
  pages: number;
  fetched: number;
  unchanged: number;
  merged: number;
  failed: number;
}

export interface SyncRunResult extends SyncProgress {
  status: 'SUCCEEDED' | 'PARTIAL' | 'FAILED';
  durationMs: number;
  error?: string;
  /** FAILED because the vendor asked us to come back later (CONNECTOR_RATE_LIMITED): in this many ms. */
  retryAfterMs?: number;
}

export interface ConnectorInstance {
  name: string;
  type: string;
  system: string;
  connector: Connector;
}

/** A sync that cannot start (unknown connector or stream); carries a stable code. */
export class SyncError extends Error {
  constructor(readonly code: 'UNKNOWN_CONNECTOR' | 'UNKNOWN_STREAM', message: string) {
    super(message);
  }
}

/** What a pushed page did: counts and each failed record's error. */
export interface IngestResult {
  fetched: number;
  unchanged: number;
  merged: number;
  failed: number;
  errors: Array<{ externalId: string; code: string; message: string; field: string | null }>;
}

/** The payload already stored for a record (source_record), for pushes that send part of it. */
export interface StoredPayload {
  version: string | null;
  payload: unknown;
}

/** The record to stage given what is stored (null = nothing stored yet), or null to skip it as stale. */
export type CombinePayload = (stored: StoredPayload | null, incoming: SourceRecord) => SourceRecord | null;

/** A source record as staged: the row written to source_record (deduplicated, hashed). */
interface StagedRow {
  external_id: string;
  version: string | null;
  payload: unknown;
  hash: string;
  /** The source's time as given (SourceRecord.updatedAt): the merge's `at` when set. */
  at: string | null;
}

/** A page's staged rows and the staging upsert's parameter (what jsonb_to_recordset reads). */
interface StagedPage {
  rows: StagedRow[];
  json: string;
}

/**
 * A fetched page made ready before its transaction (while the previous page's runs): staged rows,
 * and the canonical records of those that looked changed, mapped ahead. Only a hint: the page's
 * own staging upsert decides what changed, and anything not mapped ahead with this very mapping
 * (or that ran out of its time budget ahead) is mapped in the transaction as before.
 */
interface PreparedPage {
  records: SourceRecord[];
  cursor: string | null;
  /** The records by their stored id, and the ids that cannot be a key (dedupe). */
  deduped: PageRecords;
  /** Staged rows and their upsert parameter, built ahead too. */
  staged: StagedPage;
  mappedAhead: { mapping: CompiledMapping; records: Map<StagedRow, Mapped> } | null;
}

interface StagedRecord {
  index: number;
  externalId: string;
  version: string | null;
  at: string;
  payload: unknown;
}

/**
 * Pull sync: fetch a page → stage raw records (skip unchanged by content hash) → map → resolve
 * identity → merge with survivorship → lineage and audit → commit the page together with its
 * cursor, so a crash resumes exactly where the last committed page ended. A record that fails
 * mapping or validation is kept with its error and counted; the run goes on.
 */
export class SyncPipeline {
  private enricher: TicketEnricher | null = null;

  constructor(
    private readonly orm: MikroORM,
    private readonly engine: MappingEngine,
    private readonly instances: Map<string, ConnectorInstance>,
  ) {}

  private instance(connector: string, stream: string): ConnectorInstance {
    const inst = this.instances.get(connector);
    if (!inst) throw new SyncError('UNKNOWN_CONNECTOR', `No connector "${connector}"; configured: ${[...this.instances.keys()].join(', ') || 'none'}`);
    if (!inst.connector.streams[stream]) {
      throw new SyncError('UNKNOWN_STREAM', `Connector "${connector}" has no stream "${stream}"; streams: ${Object.keys(inst.connector.streams).join(', ')}`);
    }
    return inst;
  }

  async runStream(connector: string, stream: string, opts: SyncOptions): Promise<SyncRunResult> {
    const inst = this.instance(connector, stream);
    return this.run(inst, stream, opts.full ? 'full' : 'incremental', opts, async (progress) => {
      const state = await sqlOne<{ cursor: string | null }>(this.orm, `select cursor from sync_state where connector = ? and stream = ?`, [connector, stream]);
      const cursor = opts.full ? null : state?.cursor ?? null;
      // Page n+1 is fetched and mapped while page n's transaction runs; pages still commit one
      // at a time, in order, each with its own cursor.
      // A first load stores nothing that could be unchanged: no need to look before mapping ahead.
      const stored = !!(await sqlOne(this.orm, `select 1 from source_record where connector = ? and stream = ? limit 1`, [connector, stream]));
      const pages = readAhead(inst.connector.streams[stream].read(cursor, { pageSize: opts.pageSize, signal: opts.signal }),
        (page, stopped) => this.preparePage(inst, stream, page.records, page.cursor, { stored, stopped }));
      await this.overlapPages(pages, (page, gate) =>
        this.processPage(inst, stream, page.records, { cursor: page.cursor, force: false, prepared: page, gate }, progress), opts, progress);
      await this.retryUnresolved(inst, stream, opts, progress);
    });
  }

  /**
   * The end of a pull run: the stream's stored records that failed only because what they refer
   * to (a purchase's customer, telemetry's device) was not there yet are merged again from their
   * stored payloads, in pages, each page in its own transaction as `remap` does, counts added to
   * the run. The source is not asked for them again: an incremental cursor is past them. Records
   * this run staged itself are left out (they just failed, and are counted once). Found through
   * source_record_unmerged_idx (connector, stream, status) where status <> 'MERGED'.
   */
  private async retryUnresolved(inst: ConnectorInstance, stream: string, opts: SyncOptions, progress: SyncProgress): Promise<void> {
    const pageSize = opts.pageSize ?? 1000;
    let afterId = '0';
    for (;;) {
      if (opts.signal?.aborted) throw new Error('sync was cancelled');
      const rows = await sqlRows<StoredRow>(this.orm, UNRESOLVED_RECORDS_SQL, [inst.name, stream, progress.runId, afterId, pageSize]);
      if (!rows.length) return;
      afterId = String(rows[rows.length - 1].id);
      await this.processPage(inst, stream, rows.map(storedRecord), { cursor: undefined, force: true }, progress);
      opts.onProgress?.({ ...progress });
    }
  }

  /**
   * Page n+1's transaction stages its records while page n's merges: two transactions at a time,
   * so PostgreSQL stages one page on one core while it merges the other on the second. Page n+1
   * waits for page n's commit before its merge (the gate), so pages still merge and commit one at
   * a time, in order, each with its own cursor; if page n fails, page n+1 rolls back, and the run
   * stops at page n's error. A record on both pages waits in page n+1's staging (unique key) until
   * page n commits, then counts as unchanged or changed against what page n stored, as before.
   */
  private async overlapPages<P>(
    pages: AsyncIterable<P>, process: (page: P, gate: PageGate) => Promise<void>, opts: SyncOptions, progress: SyncProgress,
  ): Promise<void> {
    let previous: Promise<void> | null = null;
    // At most two pages are ever open: the one merging (previous) and the one staging (current).
    let current: Promise<void> | null = null;
    try {
      for await (const page of pages) {
        let staged!: () => void;
        const stagedNow = new Promise<void>((resolve) => { staged = resolve; });
        const before = previous;
        const cancelled = () => { if (opts.signal?.aborted) throw new Error('sync was cancelled'); };
        // A cancel while the page before merges stops this one before its merge too.
        const done = process(page, { staged, before: before ? () => before.then(cancelled) : null });
        done.catch(() => undefined); // raised below, in page order
        current = done;
        try {
          await Promise.race([stagedNow, done]);
        } finally {
          // The page before is reported (and its failure raised) first, whatever this page did.
          if (before) {
            await before;
            opts.onProgress?.({ ...progress });
            cancelled();
          }
        }
        previous = done;
      }
      if (previous) {
        await previous;
        opts.onProgress?.({ ...progress });
      }
    } finally {
      // Never leave with a transaction still open: the run's outcome is written after they settle.
      await Promise.allSettled([previous, current]);
    }
  }

  /** Re-applies the current mappings to stored source records, without refetching. */
  async remap(connector: string, stream: string, opts: SyncOptions): Promise<SyncRunResult> {
    const inst = this.instance(connector, stream);
    const pageSize = opts.pageSize ?? 1000;
    return this.run(inst, stream, 'remap', opts, async (progress) => {
      let afterId = '0';
      for (;;) {
        const rows = await sqlRows<StoredRow>(this.orm,
          `select id, external_id, version, payload, coalesce(source_updated_at, fetched_at) as at from source_record
            where connector = ? and stream = ? and id > ? order by id limit ?`, [connector, stream, afterId, pageSize]);
        if (!rows.length) break;
        afterId = String(rows[rows.length - 1].id);
        const records = rows.map(storedRecord);
        await this.processPage(inst, stream, records, { cursor: undefined, force: true }, progress);
        opts.onProgress?.({ ...progress });
      }
    });
  }

  private async run(
    inst: ConnectorInstance, stream: string, mode: string, opts: SyncOptions, body: (p: SyncProgress) => Promise<void>,
  ): Promise<SyncRunResult> {
    const started = Date.now();
    const row = await sqlOne<{ id: string }>(this.orm,
      `insert into sync_run (connector, stream, mode, trigger) values (?, ?, ?, ?) returning id`, [inst.name, stream, mode, opts.trigger]);
    const progress: SyncProgress = { runId: String(row!.id), connector: inst.name, stream, pages: 0, fetched: 0, unchanged: 0, merged: 0, failed: 0 };
    let status: SyncRunResult['status'] = 'SUCCEEDED';
    let error: string | undefined;
    let retryAfterMs: number | undefined;
    try {
      this.engine.get(`${inst.type}/${stream}`); // a mapping that does not compile fails the run before anything is fetched
      await body(progress);
      if (progress.failed > 0) status = 'PARTIAL';
    } catch (e) {
      status = 'FAILED';
      const err = e as { code?: string; message?: string; retryAfterMs?: unknown };
      // Vendors' error texts end up here: as text PostgreSQL stores (no U+0000).
      error = storable(`${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`);
      // Kept for the worker, which parks the job until then instead of spending retries on a quota.
      if (err.code === 'CONNECTOR_RATE_LIMITED' && typeof err.retryAfterMs === 'number' && Number.isFinite(err.retryAfterMs)) retryAfterMs = err.retryAfterMs;
    }
    await sqlRows(this.orm,
      `update sync_run set status = ?, finished_at = now(), error = ?, pages = ?, fetched = ?, unchanged = ?, merged = ?, failed = ? where id = ?`,
      [status, error ?? null, progress.pages, progress.fetched, progress.unchanged, progress.merged, progress.failed, progress.runId]);
    return { ...progress, status, durationMs: Date.now() - started, ...(error ? { error } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  /**
   * A page of records a source pushed (webhooks): staged, mapped and merged exactly like a pulled
   * page, in the caller's transaction (`em`) or one of its own. No cursor and no sync_run: a push
   * is not a run. `combine` sees each record with the payload already stored for it (rows locked)
   * and returns the payload to stage, or null when the push is older than what is stored (counted
   * as unchanged) — so a partial push (a few fields, one telemetry key) completes the record
   * instead of replacing it, and a late retry never overwrites newer data.
   */
  async ingestPage(
    connector: string, stream: string, records: SourceRecord[], opts: { em?: EntityManager; combine?: CombinePayload } = {},
  ): Promise<IngestResult> {
    const inst = this.instance(connector, stream);
    const mapping = this.engine.get(`${inst.type}/${stream}`);
    const run = (em: EntityManager) => this.stagePage(em, inst, stream, mapping, records, { force: false, combine: opts.combine });
    return opts.em ? run(opts.em) : this.orm.em.fork().transactional(run);
  }

  /**
   * Outside any transaction: stages the page in memory and maps ahead the records the database
   * does not already hold unchanged and MERGED (one indexed read, skipped when the stream had no
   * records at all when the run started). Writes nothing.
   */
  private async preparePage(
    inst: ConnectorInstance, stream: string, records: SourceRecord[], cursor: string | null,
    opts: { stored: boolean; stopped: () => boolean },
  ): Promise<PreparedPage> {
    const { stopped } = opts;
    const deduped = dedupe(records);
    const page: PreparedPage = { records, cursor, deduped, staged: stageRows(deduped.unique), mappedAhead: null };
    const staged = page.staged.rows;
    if (!staged.length || stopped()) return page;
    const mapping = this.engine.get(`${inst.type}/${stream}`);
    const rows = !opts.stored ? [] : await sqlRows<{ external_id: string; hash: string }>(this.orm,
      // One unique-key lookup per record, whatever the stream's size: with `external_id = any(?)`
      // or a plain join PostgreSQL may scan or hash the stream's every row (stale statistics
      // during a first load make it pick the status index), once per page.
      `select k.external_id, s.hash from jsonb_array_elements_text(?::jsonb) k(external_id)
         cross join lateral (select hash, status from source_record
                              where connector = ? and stream = ? and external_id = k.external_id limit 1) s
        where s.status = 'MERGED'`,
      [JSON.stringify(staged.map((s) => s.external_id)), inst.name, stream]);
    const done = new Set(rows.map((r) => `${r.external_id}\u0000${r.hash}`));
    const mapped = new Map<StagedRow, Mapped>();
    // An evaluation is a chain of already-settled promises (microtasks only): without giving way,
    // the whole page would map before the previous page's transaction could read one reply.
    let sliceStart = performance.now();
    for (const s of staged) {
      if (performance.now() - sliceStart > YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      if (stopped()) break;
      if (done.has(`${s.external_id}\u0000${s.hash}`)) continue;
      const either = mapOne(mapping, s.payload, { externalId: s.external_id, version: s.version, system: inst.system, connector: inst.name, stream });
      const out = either instanceof Promise ? await either : either;
      // A time budget spent sharing the thread with the previous page is not held against the
      // record: it is mapped again in its page's transaction.
      if (!(out instanceof MappingError && out.code === 'MAPPING_TIMEOUT')) mapped.set(s, out);
    }
    page.mappedAhead = { mapping, records: mapped };
    return page;
  }

  /** One page in one transaction: staging, mapping, merge, statuses, cursor and run counts. */
  private async processPage(
    inst: ConnectorInstance, stream: string, records: SourceRecord[],
    opts: { cursor: string | null | undefined; force: boolean; prepared?: PreparedPage; gate?: PageGate }, progress: SyncProgress,
  ): Promise<void> {
    const mapping = this.engine.get(`${inst.type}/${stream}`);
    const counts = await this.orm.em.fork().transactional(async (em) => {
      const exec = bulkExecutor(em);
      const result = await this.stagePage(em, inst, stream, mapping, records, { force: opts.force, prepared: opts.prepared, gate: opts.gate });
      // The page's cursor and the run's counts in one round trip: the merge lock is held until COMMIT.
      const counted = [result.fetched, result.unchanged, result.merged, result.failed, progress.runId];
      const countRun = `update sync_run set pages = pages + 1, fetched = fetched + ?, unchanged = unchanged + ?, merged = merged + ?, failed = failed + ? where id = ?`;
      if (opts.cursor === undefined) await exec(countRun, counted);
      else {
        await exec(
          `with saved as (insert into sync_state (connector, stream, cursor, updated_at) values (?, ?, ?, now())
                          on conflict (connector, stream) do update set cursor = excluded.cursor, updated_at = now())
           ${countRun}`,
          [inst.name, stream, opts.cursor, ...counted],
        );
      }
      return result;
    });
    progress.pages += 1;
    progress.fetched += counts.fetched;
    progress.unchanged += counts.unchanged;
    progress.merged += counts.merged;
    progress.failed += counts.failed;
  }

  /** Staging, mapping, merge and source_record statuses of one page, inside `em`'s transaction. */
  private async stagePage(
    em: EntityManager, inst: ConnectorInstance, stream: string, mapping: CompiledMapping, records: SourceRecord[],
    opts: { force: boolean; combine?: CombinePayload; prepared?: PreparedPage; gate?: PageGate },
  ): Promise<IngestResult> {
    const fetchedAt = new Date().toISOString();
    const counts: IngestResult = { fetched: records.length, unchanged: 0, merged: 0, failed: 0, errors: [] };
    const exec = bulkExecutor(em);
    const { unique: fetched, rejected } = opts.prepared?.deduped ?? dedupe(records);
    let unique = fetched;
    if (opts.combine && unique.size) {
      // FOR UPDATE below locks only rows that exist: two first pushes of one record would both
      // combine against nothing and the later would drop the earlier's fields. A lock per record,
      // held to commit and taken in key order, makes the second combine over the first.
      await lockKeys(exec, PUSH_RECORD_LOCK, [...unique.keys()].map((id) => `${inst.name}/${stream}/${id}`));
      const stored = new Map<string, StoredPayload>();
      // One unique-key probe per record: as `in (select ...)` PostgreSQL hashed the pushed ids and
      // read every record of the stream to find them.
      for (const row of await exec<any>(
        `select k.external_id, s.version, s.payload from jsonb_array_elements_text(?::jsonb) k(external_id)
           cross join lateral (select version, payload from source_record
                                where connector = ? and stream = ? and external_id = k.external_id limit 1 for update) s`,
        [JSON.stringify([...unique.keys()]), inst.name, stream],
      )) stored.set(row.external_id, { version: row.version, payload: row.payload });
      const combined = new Map<string, SourceRecord>();
      for (const [id, r] of unique) {
        const next = opts.combine(stored.get(id) ?? null, r);
        if (next) combined.set(id, next);
      }
      unique = combined;
    }
    const stagedPage = opts.prepared?.staged ?? stageRows(unique);
    const staged = stagedPage.rows;
    // Staged as MERGED with this mapping version straight away: the records that fail are set
    // FAILED below, in this same transaction, so what commits is the same as staging PENDING and
    // updating every record afterwards, with one statement less and one write per record less.
    // source_updated_at is the `at` the merge below dates the record's values by (the source's
    // time, else fetchedAt): remap and retries date them by it again, not by their own now.
    const changed = staged.length
      ? await exec<any>(
        `insert into source_record (connector, stream, external_id, version, payload, hash, status, mapped_at, mapping_version, source_updated_at)
         select ?, ?, x.external_id, x.version, x.payload, x.hash, 'MERGED', now(), ?, coalesce(x.at, ?::timestamptz)
           from json_to_recordset(?::json) x(external_id text, version text, payload json, hash text, at timestamptz)
         on conflict (connector, stream, external_id) do update
           set version = excluded.version, payload = excluded.payload, hash = excluded.hash, fetched_at = now(),
               status = 'MERGED', error = null, mapped_at = now(), mapping_version = excluded.mapping_version,
               source_updated_at = excluded.source_updated_at
           where ? or source_record.hash is distinct from excluded.hash or source_record.status <> 'MERGED'
         returning id, external_id`,
        [inst.name, stream, mapping.version, fetchedAt, stagedPage.json, opts.force],
      )
      : [];
    opts.gate?.staged();
    counts.unchanged = records.length - changed.length - rejected.length;
    const byExternal = new Map(staged.map((s) => [s.external_id, s]));
    const rowOf: StagedRow[] = [];
    const work: StagedRecord[] = changed.map((c, index) => {
      const s = byExternal.get(c.external_id)!;
      rowOf.push(s);
      return { index, externalId: s.external_id, version: s.version, at: s.at ? new Date(s.at).toISOString() : fetchedAt, payload: s.payload };
    });
    const ahead = opts.prepared?.mappedAhead?.mapping === mapping ? opts.prepared.mappedAhead.records : null;

    const errors = new Map<number, RecordError | MappingError>();
    const items: MergeItem[] = [];
    // One record at a time: JSONata's time budget runs from the start of each evaluation, so
    // starting a whole page at once would charge each record for all the others (false timeouts),
    // and interleaving thousands of async evaluations mostly feeds the garbage collector.
    const mapped: ReturnType<typeof toCanonical>[] = [];
    for (const w of work) {
      const either = ahead?.get(rowOf[w.index])
        ?? mapOne(mapping, w.payload, { externalId: w.externalId, version: w.version, system: inst.system, connector: inst.name, stream });
      const out = either instanceof Promise ? await either : either;
      if (Array.isArray(out)) mapped.push(out);
      else {
        errors.set(w.index, out);
        mapped.push([]);
      }
    }
    mapped.forEach((records, i) => {
      for (const record of records) items.push({ index: work[i].index, externalId: work[i].externalId, version: work[i].version, at: work[i].at, record });
    });
    // The page before must have committed: this merge reads the golden records it wrote.
    const before = opts.gate?.before;
    if (before) await before();
    const merger = new Merger(em, { connector: inst.name, system: inst.system, stream });
    const mergeErrors = await merger.merge(items);
    // Open tickets over the records this page changed get their derived values again, in the same transaction.
    this.enricher ??= new TicketEnricher(this.engine);
    await this.enricher.afterMerge(em, merger.audit, { name: `sync:${inst.name}`, origin: `sync:${inst.name}/${stream}` });
    for (const [i, e] of mergeErrors) errors.set(i, e);

    const failures = work.flatMap((w) => {
      const e = errors.get(w.index);
      return e ? [{ id: changed[w.index].id, externalId: w.externalId, error: { code: e.code, message: e.message, field: (e as RecordError).field ?? (e as MappingError).details?.field ?? null } }] : [];
    });
    if (failures.length) {
      await exec(
        `update source_record s set status = 'FAILED', error = x.error
           from jsonb_to_recordset(?::jsonb) x(id bigint, error jsonb) where s.id = x.id`,
        [JSON.stringify(failures.map((f) => ({ id: f.id, error: f.error })))],
      );
    }
    counts.failed = errors.size + rejected.length;
    counts.merged = work.length - errors.size;
    counts.errors = [
      ...failures.map((f) => ({ externalId: f.externalId, ...f.error })),
      ...rejected.map((r) => ({ externalId: r.externalId, code: r.error.code, message: r.error.message, field: r.error.field ?? null })),
    ];
    return counts;
  }
}

/** A source_record row read back to be merged again (remap, retries). */
interface StoredRow {
  id: string;
  external_id: string;
  version: string | null;
  payload: unknown;
  /** source_updated_at, or fetched_at for a row staged before that column was kept. */
  at: Date | string;
}

/** A stored row as the record it was staged from, dated by the time its values were merged with. */
function storedRecord(r: StoredRow): SourceRecord {
  return { externalId: r.external_id, version: r.version, updatedAt: new Date(r.at).toISOString(), payload: r.payload };
}

/** How a page's transaction takes turns with the page before it (see `overlapPages`). */
interface PageGate {
  /** Called once the page's records are staged: the next page may start. */
  staged: () => void;
  /** Settles when the page before has committed (rejects if it failed); null for a run's first page. */
  before: (() => Promise<void>) | null;
}

/** A record's canonical records, or why it has none. */
type Mapped = CanonicalRecord[] | RecordError | MappingError;

function mapOne(mapping: CompiledMapping, payload: unknown, bindings: Record<string, unknown>): Mapped | Promise<Mapped> {
  let out: unknown;
  try {
    out = evaluateEither(mapping, payload, bindings);
  } catch (e) {
    return mapFailure(e);
  }
  // Most records take the fast path (a value, no promise); the rest wait for JSONata.
  return out instanceof Promise ? out.then(validated, mapFailure) : validated(out);
}

function validated(out: unknown): Mapped {
  try {
    return toCanonical(out);
  } catch (e) {
    return mapFailure(e);
  }
}

function mapFailure(e: unknown): RecordError | MappingError {
  return e instanceof RecordError || e instanceof MappingError ? e : new RecordError('MAPPING_FAILED', String((e as Error)?.message ?? e));
}

/** A page's records by external id, as staged (`unique`), and the ones whose id cannot be a key. */
interface PageRecords {
  unique: Map<string, SourceRecord>;
  /** Ids too long to index (the key of source_record and source_link): not staged, counted as failed. */
  rejected: Array<{ externalId: string; error: RecordError }>;
}

/**
 * The same record twice in one page: the later copy wins. Ids are taken as they will be stored
 * (`storable`: two ids that differ only there are one record, not two rows of one key in one
 * statement); an id too long to be a key fails its record rather than the page.
 */
function dedupe(records: SourceRecord[]): PageRecords {
  const unique = new Map<string, SourceRecord>();
  const rejected: PageRecords['rejected'] = [];
  for (const r of records) {
    const id = storable(String(r.externalId));
    const bytes = tooLongToIndex(id);
    if (bytes !== null) {
      rejected.push({ externalId: `${id.slice(0, 40)}…`, error: new RecordError('INVALID_FIELD', `the record's id is too long to be a key (${bytes} bytes in UTF-8, at most ${INDEX_KEY_MAX_BYTES})`, 'externalId') });
    } else unique.set(id, id === r.externalId ? r : { ...r, externalId: id });
  }
  return { unique, rejected };
}

/**
 * Hashes the page's records and writes the staging upsert's parameter in the same pass. The
 * parameter is one string joined from pieces, so it is flat from the start: concatenated, it was a
 * tree of a few strings per record (and kept each record's text) that lived until the page's
 * transaction sent it, every piece copied by the garbage collector on the way.
 */
function stageRows(unique: Map<string, SourceRecord>): StagedPage {
  const rows: StagedRow[] = [];
  const parts: string[] = ['['];
  for (const r of unique.values()) {
    let payload = r.payload ?? null;
    let { hash, json } = hashedJson(payload);
    if (jsonMayHoldUnstorable(json)) {
      payload = storable(payload);
      ({ hash, json } = hashedJson(payload));
    }
    const row: StagedRow = { external_id: String(r.externalId), version: storable(r.version ?? null), payload, hash, at: r.updatedAt ?? null };
    if (rows.length) parts.push(',');
    rows.push(row);
    // The instant as the merge reads it (`new Date(at)`), so the stored time is the lineage's; one
    // it cannot read stays out (the merge's own conversion fails the page, as before).
    const time = row.at ? Date.parse(row.at) : NaN;
    const at = Number.isFinite(time) ? `"${new Date(time).toISOString()}"` : 'null';
    parts.push(`{"external_id":${JSON.stringify(row.external_id)},"version":${JSON.stringify(row.version)},"payload":`, json, `,"hash":"${hash}","at":${at}}`);
  }
  parts.push(']');
  return { rows, json: parts.join('') };
}
