/**
 * Measuring the pipeline from the outside, without changing src/: a statement counter on the
 * ORM's knex, a timer around each connector read, a timer around the mapping evaluations, and
 * CPU time of this process and of the database's backends.
 */
import fs from 'node:fs';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Connector, SourcePage, StreamDefinition } from '../../src/connectors';
import { BAILED, CompiledMapping, MappingEngine } from '../../src/mapping/engine';
import type { ConnectorInstance } from '../../src/sync/pipeline';
import { MERGE_LOCK } from '../../src/sync/merge';

/** Accumulated milliseconds (monotonic clock), and the spans they came from. */
export class Stopwatch {
  ms = 0;
  /** [start, end] in ms of the monotonic clock. */
  readonly spans: Array<[number, number]> = [];
  add(start: bigint): void {
    const end = process.hrtime.bigint();
    this.ms += Number(end - start) / 1e6;
    this.spans.push([Number(start) / 1e6, Number(end) / 1e6]);
  }
}

/**
 * Milliseconds covered by at least one span. The pipeline reads (and maps) the next page while
 * the current page's statements run, so the phases overlap: the wall time not covered by any of
 * them is the "other JS", and the sum of the phases minus this union is how much overlapped.
 */
export function covered(spans: Array<[number, number]>): number {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

/**
 * Every statement knex sends on the ORM's pool. The pipeline's bulk statements go through
 * `em.getKnex().raw(...).transacting(trx)` and its reads through `em.getConnection().execute()`;
 * both are the same knex instance as `orm.em.getConnection().getKnex()`, and its `query` event
 * fires for each of them and for the transaction's BEGIN and COMMIT (checked when this bench was
 * written). `query-response` / `query-error` close the round trip of a statement (not of
 * BEGIN/COMMIT, which have none), so `sqlMs` is the time spent waiting on statements, driver
 * serialization and row parsing included.
 */
export class StatementCounter {
  statements = 0;
  sqlMs = 0;
  /** Each statement's round trip, [start, end] in ms of the monotonic clock. */
  readonly spans: Array<[number, number]> = [];
  /** Statement kinds (first words, table) → count, while `capture` is on. */
  kinds = new Map<string, number>();
  capture = false;
  /** Statement kinds → { count, ms } over the whole run. */
  readonly time = new Map<string, { count: number; ms: number }>();
  /**
   * Time each transaction held the merge lock: from sending `pg_advisory_xact_lock` to sending its
   * COMMIT/ROLLBACK, [start, end] in ms. Pages merge one at a time, so this is the pipeline's
   * critical path (the commit's own round trip is not included).
   */
  readonly lockSpans: Array<[number, number]> = [];
  private readonly open = new Map<string, { start: bigint; kind: string }>();
  private readonly lockedSince = new Map<string, number>();

  constructor(orm: MikroORM) {
    const knex = orm.em.getConnection().getKnex();
    knex.on('query', (q: { sql?: string; __knexQueryUid?: string; __knexTxId?: string }) => {
      this.statements++;
      const kind = statementKind(q.sql ?? '');
      if (q.__knexTxId) this.lockSpan(q.__knexTxId, kind, q.sql ?? '');
      if (q.__knexQueryUid) this.open.set(q.__knexQueryUid, { start: process.hrtime.bigint(), kind });
      if (this.capture) this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    });
    const done = (q: { __knexQueryUid?: string } | undefined): void => {
      const uid = q?.__knexQueryUid;
      const open = uid ? this.open.get(uid) : undefined;
      if (uid && open) {
        const end = process.hrtime.bigint();
        const ms = Number(end - open.start) / 1e6;
        this.spans.push([Number(open.start) / 1e6, Number(end) / 1e6]);
        this.sqlMs += ms;
        const t = this.time.get(open.kind) ?? { count: 0, ms: 0 };
        t.count++;
        t.ms += ms;
        this.time.set(open.kind, t);
        this.open.delete(uid);
      }
    };
    knex.on('query-response', (_res: unknown, q: { __knexQueryUid?: string }) => done(q));
    knex.on('query-error', (_err: unknown, q: { __knexQueryUid?: string }) => done(q));
  }

  private lockSpan(tx: string, kind: string, sql: string): void {
    const now = Number(process.hrtime.bigint()) / 1e6;
    if (sql.includes(`pg_advisory_xact_lock(${MERGE_LOCK})`)) {
      if (!this.lockedSince.has(tx)) this.lockedSince.set(tx, now);
    } else if (kind === 'COMMIT' || kind === 'ROLLBACK') {
      const since = this.lockedSince.get(tx);
      if (since !== undefined) this.lockSpans.push([since, now]);
      this.lockedSince.delete(tx);
    }
  }
}

/** `insert into device`, `select … from customer`, `BEGIN`: enough to read a page's statement mix. */
export function statementKind(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  const verb = (/^\w+/.exec(s)?.[0] ?? '?').toLowerCase();
  if (verb === 'begin' || verb === 'commit' || verb === 'rollback') return verb.toUpperCase();
  const table =
    verb === 'insert' ? /^insert into (\w+)/i.exec(s)?.[1]
      : verb === 'update' ? /^update (\w+)/i.exec(s)?.[1]
        : verb === 'delete' ? /^delete from (\w+)/i.exec(s)?.[1]
          : /pg_advisory_xact_lock/.test(s) ? 'pg_advisory_xact_lock'
            : / from (\w+)/i.exec(s)?.[1];
  return `${verb} ${table ?? ''}`.trim();
}

async function* timedPages(source: AsyncIterable<SourcePage>, watch: Stopwatch): AsyncGenerator<SourcePage> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const t0 = process.hrtime.bigint();
      const next = await it.next();
      watch.add(t0);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}

/**
 * The same instances with each stream's `read` timed: the time the pipeline spends waiting for
 * the next page (connector + HTTP + the in-process sandbox serving it). The originals stay
 * untouched (close them, not these).
 */
export function timeReads(instances: Map<string, ConnectorInstance>, watch: Stopwatch): Map<string, ConnectorInstance> {
  const out = new Map<string, ConnectorInstance>();
  for (const [name, inst] of instances) {
    const streams: Record<string, StreamDefinition> = {};
    for (const [s, def] of Object.entries(inst.connector.streams)) {
      streams[s] = { name: def.name, entity: def.entity, read: (cursor, opts) => timedPages(def.read(cursor, opts), watch) };
    }
    const original = inst.connector;
    const connector: Connector = { name: original.name, streams, healthCheck: () => original.healthCheck() };
    out.set(name, { ...inst, connector });
  }
  return out;
}

/**
 * The mapping engine with a timer on evaluation: the pipeline starts a page's evaluations all at
 * once (Promise.all) and they interleave, so this measures the span from the first evaluation
 * of a page starting to the last one settling (the validation of each output, toCanonical, runs
 * inside that span too; no SQL does).
 */
export class TimedMappingEngine extends MappingEngine {
  readonly watch = new Stopwatch();
  evaluations = 0;
  private active = 0;
  private spanStart = 0n;
  private readonly wrapped = new Map<CompiledMapping, CompiledMapping>();

  override get(name: string): CompiledMapping {
    const inner = super.get(name);
    let w = this.wrapped.get(inner);
    if (!w) {
      w = {
        name: inner.name,
        version: inner.version,
        source: inner.source,
        fast: inner.fast,
        fastReason: inner.fastReason,
        // The fast path runs synchronously: its span is the call itself. A record it hands to
        // JSONata (BAILED) is counted and timed by evaluate.
        evaluateSync: (input, bindings) => {
          const start = process.hrtime.bigint();
          const out = inner.evaluateSync(input, bindings);
          if (out !== BAILED) {
            this.evaluations++;
            if (this.active === 0) this.watch.add(start);
          }
          return out;
        },
        evaluate: async (input, bindings) => {
          if (this.active++ === 0) this.spanStart = process.hrtime.bigint();
          this.evaluations++;
          try {
            return await inner.evaluate(input, bindings);
          } finally {
            if (--this.active === 0) this.watch.add(this.spanStart);
          }
        },
      };
      this.wrapped.set(inner, w);
    }
    return w;
  }
}

/** CPU time (ms) of the PostgreSQL backends serving `database`, read from /proc (same host only). */
export class BackendCpu {
  private readonly tick = 1000 / 100; // ms per clock tick (USER_HZ is 100 on Linux)
  private readonly available = fs.existsSync('/proc/self/stat');

  constructor(private readonly pids: () => Promise<number[]>) {}

  private read(pid: number): number | null {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * this.tick; // utime, stime
    } catch {
      return null;
    }
  }

  /** A snapshot: pid → CPU ms so far. */
  async snapshot(): Promise<Map<number, number> | null> {
    if (!this.available) return null;
    const out = new Map<number, number>();
    for (const pid of await this.pids()) {
      const v = this.read(pid);
      if (v !== null) out.set(pid, v);
    }
    return out;
  }

  /**
   * CPU ms of the backends while `work` runs in another process, whose connections come and go:
   * sampled every `everyMs`, the last value seen per backend (a backend's work after its last
   * sample, at most `everyMs` of it, is missed). null where /proc cannot be read.
   */
  async during<T>(work: () => Promise<T>, everyMs = 300): Promise<{ result: T; cpuMs: number | null }> {
    if (!this.available) return { result: await work(), cpuMs: null };
    const start = (await this.snapshot()) ?? new Map<number, number>();
    const last = new Map<number, number>();
    let sampling = Promise.resolve();
    const sample = () => {
      sampling = sampling.then(async () => {
        for (const [pid, v] of (await this.snapshot()) ?? []) last.set(pid, v);
      }).catch(() => undefined);
    };
    const timer = setInterval(sample, everyMs);
    try {
      const result = await work();
      return { result, cpuMs: [...last].reduce((ms, [pid, v]) => ms + v - (start.get(pid) ?? 0), 0) };
    } finally {
      clearInterval(timer);
      await sampling;
    }
  }

  /** CPU ms between two snapshots (a backend started in between counts from zero). */
  async since(before: Map<number, number> | null): Promise<number | null> {
    const after = await this.snapshot();
    if (!before || !after || after.size === 0) return null;
    let ms = 0;
    for (const [pid, v] of after) ms += v - (before.get(pid) ?? 0);
    return ms;
  }
}
