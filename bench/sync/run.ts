/**
 * `npm run bench:sync`: ~200k records from the three sandboxes (Salesforce, Kingdee, ThingsBoard)
 * through the real sync pipeline into golden records, end to end; where the time goes; SQL
 * statements per page at two page sizes; the mapping engine against bare JSONata. See
 * bench/README.md.
 */
import 'reflect-metadata';
import os from 'node:os';
import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { parseConnectorsConfig } from '../../src/connectors';
import { openOrm } from '../../src/db/orm';
import { MappingEngine } from '../../src/mapping/engine';
import { closeInstances, loadSyncSetup } from '../../src/sync/instances';
import { SyncPipeline, SyncRunResult } from '../../src/sync/pipeline';
import { relaunchWithYoungGeneration, semiSpaceSetting } from '../../src/cli/young-generation';
import { summarizeProfile, writeProfile } from '../lookup/profile';
import { fmt, table } from '../lookup/stats';
import { SyncBenchArgs, USAGE, parseArgs, splitRecords } from './args';
import { CpuBudget, cpuBudget, CpuBudgetInput, cpuBudgetLines } from './budget';
import { FloorResult, sqlFloorPass } from './floor';
import { BackendCpu, StatementCounter, Stopwatch, TimedMappingEngine, covered, timeReads } from './instrument';
import { MappingComparison, MappingInput, compareMapping } from './mapping';
import { profiled, topFunctions } from './profile';
import { ReadOnlyRun, readOnlyPass, streamOrder } from './read-pass';
import { startSandboxProcess } from './sandbox-process';
import { BENCH_DATABASE, BenchSandboxes, countRows, databaseUrls, recreateDatabase, startBenchSandboxes, truncateAll } from './setup';

const TARGET_RPS = 20_000;
const TARGET_MAPPING_RATIO = 0.8;
/** statements/page at the large page size over the small one, per stream: at most this to count as "does not grow". */
const SET_BASED_TOLERANCE = 1.25;

const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const secs = (ms: number | null): string => (ms === null || !Number.isFinite(ms) ? '-' : (ms / 1000).toFixed(1));
const median = (xs: number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface PageStat {
  /** Records fetched so far in this run. */
  fetched: number;
  statements: number;
  /** ms since the stream started, when the page was committed. */
  atMs: number;
}

interface StreamRun {
  key: string;
  result: SyncRunResult;
  wallMs: number;
  fetchMs: number;
  mapMs: number;
  sqlMs: number;
  /** Wall time covered by fetch, map+validate or SQL (they overlap: the next page is read during a page's transaction). */
  busyMs: number;
  nodeCpuMs: number;
  /** CPU of the sandbox process during the run (null: sandboxes in this process, in nodeCpuMs). */
  sandboxCpuMs: number | null;
  pgCpuMs: number | null;
  statements: number;
  pages: PageStat[];
  /** Stopped on purpose after `limit` records (comparison pass). */
  limited: boolean;
}

interface Harness {
  orm: MikroORM;
  counter: StatementCounter;
  fetchWatch: Stopwatch;
  engine: TimedMappingEngine;
  pipeline: SyncPipeline;
  backendCpu: BackendCpu;
  /** CPU so far of the sandbox process; null when the sandboxes run in this process. */
  sandboxCpu: (() => Promise<number>) | null;
}

/** Syncs every stream in order through the pipeline; `limit` stops each stream after that many records. */
async function pipelinePass(h: Harness, order: Array<[string, string]>, pageSize: number, limit?: number): Promise<StreamRun[]> {
  const out: StreamRun[] = [];
  for (const [c, s] of order) {
    const pages: PageStat[] = [];
    const abort = new AbortController();
    const before = { statements: h.counter.statements, sqlMs: h.counter.sqlMs, fetchMs: h.fetchWatch.ms, mapMs: h.engine.watch.ms,
      spans: [h.counter.spans.length, h.fetchWatch.spans.length, h.engine.watch.spans.length] };
    const pg0 = await h.backendCpu.snapshot();
    const sandbox0 = await h.sandboxCpu?.();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let lastStatements = h.counter.statements;
    const result = await h.pipeline.runStream(c, s, {
      trigger: 'cli',
      full: true,
      pageSize,
      signal: abort.signal,
      onProgress: (p) => {
        pages.push({ fetched: p.fetched, statements: h.counter.statements - lastStatements, atMs: msSince(t0) });
        lastStatements = h.counter.statements;
        if (limit !== undefined && p.fetched >= limit) abort.abort();
      },
    });
    const wallMs = msSince(t0);
    const cpu = process.cpuUsage(cpu0);
    const limited = limit !== undefined && abort.signal.aborted && result.status === 'FAILED' && /cancelled/.test(result.error ?? '');
    // A failed run is reported (and makes the benchmark exit non-zero) but does not stop the others.
    if (result.status === 'FAILED' && !limited) log(`  FAILED ${c}/${s} after ${result.pages} pages: ${(result.error ?? '').replace(/\s+/g, ' ').slice(0, 400)}`);
    out.push({
      key: `${c}/${s}`,
      result,
      wallMs,
      fetchMs: h.fetchWatch.ms - before.fetchMs,
      mapMs: h.engine.watch.ms - before.mapMs,
      sqlMs: h.counter.sqlMs - before.sqlMs,
      busyMs: covered([...h.counter.spans.slice(before.spans[0]), ...h.fetchWatch.spans.slice(before.spans[1]), ...h.engine.watch.spans.slice(before.spans[2])]),
      nodeCpuMs: (cpu.user + cpu.system) / 1000,
      sandboxCpuMs: h.sandboxCpu && sandbox0 !== undefined ? (await h.sandboxCpu()) - sandbox0 : null,
      pgCpuMs: await h.backendCpu.since(pg0),
      statements: h.counter.statements - before.statements,
      pages,
      limited,
    });
  }
  return out;
}

/** Pages of a run up to (and including) the one that reached `records`. */
function firstPages(run: StreamRun, records: number): PageStat[] {
  const n = run.pages.findIndex((p) => p.fetched >= records);
  return n < 0 ? run.pages : run.pages.slice(0, n + 1);
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed === 'help') {
    log(USAGE);
    return;
  }
  const args: SyncBenchArgs = parsed;
  const split = splitRecords(args.records);
  const { adminUrl, benchUrl } = databaseUrls();
  log(`bench:sync: ${int(args.records)} synthetic records (CRM accounts ${int(split.crmAccounts)}, ERP ${int(split.erpPerForm)} per form x 5, ` +
    `IoT devices ${int(split.iotDevices)}) + the demo data; page size ${args.pageSize}; ${os.cpus().length} CPUs, Node ${process.version}, ` +
    `V8 semi-space ${semiSpaceSetting()}`);
  const loadAtStart = os.loadavg()[0];
  if (loadAtStart > 0.7) log(`WARNING: load average is ${loadAtStart.toFixed(2)}: other work is running, figures will be noisy.`);

  let t = process.hrtime.bigint();
  const migrations = await recreateDatabase(adminUrl, benchUrl);
  log(`Created ${BENCH_DATABASE}, applied ${migrations.length} migrations (${secs(msSince(t))} s).`);

  t = process.hrtime.bigint();
  const sandboxes: BenchSandboxes & { cpuMs?: () => Promise<number> } = args.sandboxesInProcess
    ? await startBenchSandboxes(split, args.distinctSerials)
    : await startSandboxProcess(split, args.distinctSerials);
  log(`Sandboxes up ${args.sandboxesInProcess ? 'in this process' : 'in a process of their own'}, data generated (${secs(msSince(t))} s)` +
    `${args.distinctSerials ? '; synthetic serials spread out (--distinct-serials)' : ''}.`);
  const setup = loadSyncSetup(undefined, { config: parseConnectorsConfig(sandboxes.configYaml, 'bench:sync') });
  const order = streamOrder(setup.instances);

  const orm = await openOrm(benchUrl);
  const monitor = new Client({ connectionString: benchUrl });
  await monitor.connect();
  const counter = new StatementCounter(orm);
  const fetchWatch = new Stopwatch();
  const engine = new TimedMappingEngine();
  const backendCpu = new BackendCpu(async () =>
    (await monitor.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`)).rows.map((r) => r.pid));
  const h: Harness = {
    orm, counter, fetchWatch, engine, pipeline: new SyncPipeline(orm, engine, timeReads(setup.instances, fetchWatch)), backendCpu,
    sandboxCpu: sandboxes.cpuMs ?? null,
  };

  try {
    // 1. Connector read only (also logs the connectors in, so the pipeline pass does not pay for it).
    let reads: ReadOnlyRun[] = [];
    let readSandboxCpuMs: number | null = null;
    if (args.readPass) {
      log(`Pass 1: connector read only, every stream, page size ${args.pageSize}...`);
      const sandbox0 = await h.sandboxCpu?.();
      reads = await readOnlyPass(setup.instances, order, args.pageSize);
      if (h.sandboxCpu && sandbox0 !== undefined) readSandboxCpuMs = (await h.sandboxCpu()) - sandbox0;
      const n = reads.reduce((a, r) => a + r.records, 0);
      const ms = reads.reduce((a, r) => a + r.ms, 0);
      log(`  ${int(n)} records in ${secs(ms)} s (${int(n / (ms / 1000))} records/s)`);
    }

    // 2. The full pipeline, every stream, fresh database.
    log(`Pass 2: full pipeline (fetch, stage, map, validate, merge, links, audit, cursor), page size ${args.pageSize}${args.profile ? ', CPU-profiled' : ''}...`);
    const t2 = process.hrtime.bigint();
    const lockSpansBefore = counter.lockSpans.length;
    let runs: StreamRun[];
    let profileLines: string[] = [];
    if (args.profile) {
      const { result, profile } = await profiled(() => pipelinePass(h, order, args.pageSize));
      runs = result;
      profileLines = [
        `CPU profile of pass 2: ${writeProfile(profile, 'sync-pipeline.cpuprofile')}`,
        'By package (self time):',
        ...summarizeProfile(profile, 16).map((l) => `  ${l}`),
        'Top functions (self time):',
        ...topFunctions(profile, 20).map((l) => `  ${l}`),
      ];
    } else {
      runs = await pipelinePass(h, order, args.pageSize);
    }
    const pipelineMs = msSince(t2);
    const lockHeldMs = covered(counter.lockSpans.slice(lockSpansBefore));
    const sqlByKind = [...counter.time].map(([k, v]) => [k, { ...v }] as const).sort((a, b) => b[1].ms - a[1].ms);
    for (const r of runs) {
      log(`  ${r.key.padEnd(18)} ${int(r.result.fetched).padStart(8)} records ${secs(r.wallMs).padStart(7)} s ${int(r.result.fetched / (r.wallMs / 1000)).padStart(8)}/s  merged ${int(r.result.merged)}, failed ${int(r.result.failed)} (${r.result.status})`);
    }
    const rows = await countRows(monitor);
    const failureCodes = (await monitor.query<{ k: string; code: string; n: number; example: string }>(
      `select connector || '/' || stream as k, coalesce(error->>'code', '?') as code, count(*)::int as n, min(error->>'message') as example
         from source_record where status = 'FAILED' group by 1, 2 order by 3 desc`)).rows;
    const dbSize = (await monitor.query(`select pg_size_pretty(pg_database_size(current_database())) as s`)).rows[0].s as string;

    const biggest = [...runs].sort((a, b) => b.result.fetched - a.result.fetched)[0];

    // 3. Mapping engine vs bare JSONata on the biggest stream's stored payloads.
    let mapping: MappingComparison | null = null;
    if (args.mapRecords > 0 && biggest.result.fetched > 0) {
      const [c, s] = biggest.key.split('/');
      const inst = setup.instances.get(c)!;
      log(`Pass 3: mapping ${inst.type}/${s}: engine vs bare JSONata on ${int(Math.min(args.mapRecords, biggest.result.fetched))} stored payloads, ${args.mapRounds} rounds...`);
      const stored = await monitor.query<{ external_id: string; version: string | null; payload: unknown }>(
        `select external_id, version, payload from source_record where connector = $1 and stream = $2 order by id limit $3`, [c, s, args.mapRecords]);
      const inputs: MappingInput[] = stored.rows.map((r) => ({
        payload: r.payload,
        bindings: { externalId: r.external_id, version: r.version, system: inst.system, connector: inst.name, stream: s },
      }));
      mapping = await compareMapping(new MappingEngine(), `${inst.type}/${s}`, inputs, args.mapRounds, Math.min(args.pageSize, 2000));
    }

    // 5 (run before 4, which empties the tables). The SQL floor: pass 2's rows written again by plain SQL.
    let floor: FloorResult | null = null;
    if (args.floor) {
      log(`Pass 5: SQL floor: the rows of pass 2 copied aside, the tables emptied, the rows inserted back by plain set-based SQL, ${args.pageSize} a transaction...`);
      floor = await sqlFloorPass(benchUrl, args.pageSize);
    }

    // 4. Statements per page at a smaller page size: same first records of every stream, fresh tables.
    let small: StreamRun[] = [];
    let mix: Array<[string, number]> = [];
    if (args.smallPageSize > 0) {
      log(`Pass 4: tables emptied; first ${int(args.compareRecords)} records of every stream at page size ${args.smallPageSize} (statements per page)...`);
      await truncateAll(monitor);
      counter.capture = true;
      small = await pipelinePass(h, order, args.smallPageSize, args.compareRecords);
      counter.capture = false;
      mix = [...counter.kinds].sort((a, b) => b[1] - a[1]);
    }

    // Report ---------------------------------------------------------------------------------
    const sum = (xs: StreamRun[], f: (r: StreamRun) => number): number => xs.reduce((a, r) => a + f(r), 0);
    const fetched = sum(runs, (r) => r.result.fetched);
    const merged = sum(runs, (r) => r.result.merged);
    const failed = sum(runs, (r) => r.result.failed);
    const unchanged = sum(runs, (r) => r.result.unchanged);
    const rps = fetched / (pipelineMs / 1000);
    const readRecords = reads.reduce((a, r) => a + r.records, 0);
    const readMs = reads.reduce((a, r) => a + r.ms, 0);
    const readRps = reads.length ? readRecords / (readMs / 1000) : NaN;
    const readOf = new Map(reads.map((r) => [r.key, r]));

    log();
    const t1: string[][] = [['stream', 'status', 'fetched', 'merged', 'failed', 'pages', 'seconds', 'records/s', 'read-only rec/s', 'stmts/page', 'stmts/record']];
    for (const r of runs) {
      const ro = readOf.get(r.key);
      t1.push([
        r.key, r.result.status, int(r.result.fetched), int(r.result.merged), int(r.result.failed), String(r.result.pages), secs(r.wallMs),
        int(r.result.fetched / (r.wallMs / 1000)), ro ? int(ro.records / (ro.ms / 1000)) : '-',
        fmt(median(r.pages.map((p) => p.statements)), 1), r.result.fetched ? fmt(r.statements / r.result.fetched, 3) : '-',
      ]);
    }
    t1.push(['all streams', '', int(fetched), int(merged), int(failed), String(sum(runs, (r) => r.result.pages)), secs(pipelineMs), int(rps),
      int(readRps), '', fmt(sum(runs, (r) => r.statements) / Math.max(1, fetched), 3)]);
    log(table(t1));

    log();
    const pct = (part: number, whole: number): string => `${fmt((100 * part) / whole, 0)}%`;
    const t2rows: string[][] = [['where the time goes (s)', 'wall', 'fetch', 'map+validate', 'SQL', 'overlapped', 'other JS', 'Node CPU', 'PG CPU', 'sandbox CPU']];
    const overlapOf = (r: StreamRun) => r.fetchMs + r.mapMs + r.sqlMs - r.busyMs;
    for (const r of runs) {
      t2rows.push([r.key, secs(r.wallMs), secs(r.fetchMs), secs(r.mapMs), secs(r.sqlMs), secs(overlapOf(r)), secs(r.wallMs - r.busyMs), secs(r.nodeCpuMs), secs(r.pgCpuMs), secs(r.sandboxCpuMs)]);
    }
    const tot = {
      wall: sum(runs, (r) => r.wallMs), fetch: sum(runs, (r) => r.fetchMs), map: sum(runs, (r) => r.mapMs), sql: sum(runs, (r) => r.sqlMs),
      overlap: sum(runs, overlapOf),
      node: sum(runs, (r) => r.nodeCpuMs), pg: runs.every((r) => r.pgCpuMs !== null) ? sum(runs, (r) => r.pgCpuMs!) : null,
      sandbox: runs.every((r) => r.sandboxCpuMs !== null) ? sum(runs, (r) => r.sandboxCpuMs!) : null,
    };
    const other = sum(runs, (r) => r.wallMs - r.busyMs);
    t2rows.push(['all streams', secs(tot.wall), secs(tot.fetch), secs(tot.map), secs(tot.sql), secs(tot.overlap), secs(other), secs(tot.node), secs(tot.pg), secs(tot.sandbox)]);
    t2rows.push(['share of wall', '', pct(tot.fetch, tot.wall), pct(tot.map, tot.wall), pct(tot.sql, tot.wall), pct(tot.overlap, tot.wall), pct(other, tot.wall), pct(tot.node, tot.wall), tot.pg === null ? '-' : pct(tot.pg, tot.wall), tot.sandbox === null ? '-' : pct(tot.sandbox, tot.wall)]);
    log(table(t2rows));
    log('  fetch = waiting for the next page (connector, HTTP, and the sandbox serving it); map+validate =');
    log('  JSONata + toCanonical; SQL = statement round trips (BEGIN/COMMIT not included); overlapped = time two of these ran at');
    log('  once (the next page is read and mapped during a page\'s transaction); other JS = wall time covered by none of them');
    log(`  (hashing, JSON building, merge decisions). Node CPU = this process (pipeline${args.sandboxesInProcess ? ' + sandboxes' : ''}); PG CPU = the bench database's`);
    log(`  backends; sandbox CPU = the sandboxes' own process (${args.sandboxesInProcess ? 'none: --sandboxes-in-process' : 'same machine, same cores'}).`);
    log(`  Merge lock held ${secs(lockHeldMs)} s of the ${secs(pipelineMs)} s pass (${pct(lockHeldMs, pipelineMs)}): pages merge one at a time, so the locked part of`);
    log('  each page\'s transaction (merge, links, audit, enrichment, cursor, up to its COMMIT) is the critical path.');
    if (reads.length) log(`  Connector read only (pass 1): ${int(readRecords)} records in ${secs(readMs)} s = ${int(readRps)} records/s, Node CPU ${secs(reads.reduce((a, r) => a + r.nodeCpuMs, 0))} s.`);
    for (const r of runs) {
      const ro = readOf.get(r.key);
      if (ro && ro.records !== r.result.fetched) log(`  WARNING: ${r.key}: read-only pass saw ${ro.records} records, the pipeline fetched ${r.result.fetched}.`);
    }
    log(`Golden rows: ${Object.entries(rows).map(([k, v]) => `${k} ${int(v)}`).join(', ')}; database ${dbSize}.`);
    if (failureCodes.length) {
      log('Failed source records of pass 2, by stream and code:');
      for (const f of failureCodes) log(`  ${f.k.padEnd(18)} ${f.code.padEnd(22)} ${int(f.n).padStart(8)}   e.g. ${String(f.example ?? '').slice(0, 110)}`);
    }
    log(`SQL time by statement (pass 2), top 10: ${sqlByKind.slice(0, 10).map(([k, v]) => `${k} ${secs(v.ms)} s/${int(v.count)}`).join(', ')}`);

    // Statements per page at two page sizes.
    let worstGrowth = NaN;
    if (small.length) {
      log();
      const t3: string[][] = [[`first ${int(args.compareRecords)} records`, `stmts/page @${args.pageSize}`, `@${args.smallPageSize}`, `pages @${args.pageSize}`, `@${args.smallPageSize}`, `records/s @${args.pageSize}`, `@${args.smallPageSize}`]];
      worstGrowth = 0;
      for (const s of small) {
        const big = runs.find((r) => r.key === s.key)!;
        const bigPages = firstPages(big, args.compareRecords);
        const bigLast = bigPages[bigPages.length - 1];
        const mBig = median(bigPages.map((p) => p.statements));
        const mSmall = median(s.pages.map((p) => p.statements));
        // Only where the page size made a difference: a stream that fits one page at both sizes compares nothing.
        if (mSmall > 0 && s.pages.length > bigPages.length) worstGrowth = Math.max(worstGrowth, mBig / mSmall);
        t3.push([s.key, fmt(mBig, 1), fmt(mSmall, 1), String(bigPages.length), String(s.pages.length),
          bigLast ? int(bigLast.fetched / (bigLast.atMs / 1000)) : '-', int(s.result.fetched / (s.wallMs / 1000))]);
      }
      log(table(t3));
      log('  Median statements per page (BEGIN and COMMIT included; a stream\'s first page also carries the run\'s own 2). The verdict');
      log('  below uses the streams that needed more pages at the small size; pass 4 starts from empty tables, so a stream');
      log('  whose references are not in the first records of the streams before it (cases → accounts) takes other paths.');
      log(`  Statement mix of pass 4 (${int(sum(small, (r) => r.statements))} statements, ${sum(small, (r) => r.pages.length)} pages):`);
      log(`  ${mix.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    }

    if (mapping) {
      log();
      const m = mapping;
      const t4: string[][] = [[`mapping ${m.name} (${int(m.records)} records)`, 'median rec/s', 'best rec/s', 'rounds', 'failed/round']];
      t4.push(['engine  MappingEngine.evaluate, sequential', int(m.sequential.engine.median), int(m.sequential.engine.best), String(m.sequential.engine.rates.length), String(m.sequential.engine.failures)]);
      t4.push(['bare    jsonata().evaluate, sequential', int(m.sequential.bare.median), int(m.sequential.bare.best), String(m.sequential.bare.rates.length), String(m.sequential.bare.failures)]);
      t4.push([`engine  Promise.all per ${m.batched.pageSize} (as the pipeline)`, int(m.batched.engine.median), int(m.batched.engine.best), String(m.batched.engine.rates.length), String(m.batched.engine.failures)]);
      t4.push([`bare    Promise.all per ${m.batched.pageSize}`, int(m.batched.bare.median), int(m.batched.bare.best), String(m.batched.bare.rates.length), String(m.batched.bare.failures)]);
      log(table(t4));
      log(`  Outputs verified equal on all ${int(m.records)} records (${int(m.errors)} fail on both sides alike). Mapping version ${m.version}.`);
      if (m.batched.engine.failures || m.batched.bare.failures) {
        log(`  Batched: records failed in the measured rounds (engine ${int(m.batched.engine.failures)}, bare ${int(m.batched.bare.failures)}): the engine's per-evaluation`);
        log('  time budget runs on the wall clock, and a page\'s evaluations interleave, so each one\'s clock includes the others\'; the batched');
        log('  ratio is not comparable then (a stopped evaluation is cheap).');
      }
    }

    log();
    const verdict = (pass: boolean): string => (pass ? 'meets target' : 'MISSES target');
    log(`end to end:        ${int(rps)} records/s (${int(fetched)} records in ${secs(pipelineMs)} s)   (target >= ${int(TARGET_RPS)}: ${verdict(rps >= TARGET_RPS)})`);
    log(`                   ${int(merged / (pipelineMs / 1000))} merged records/s (${int(merged)} merged, ${int(failed)} failed${runs.some((r) => r.result.status === 'FAILED') ? `, streams that failed outright: ${runs.filter((r) => r.result.status === 'FAILED').map((r) => r.key).join(', ')}` : ''})`);
    if (floor) {
      const written = Object.values(floor.rows).reduce((a, n) => a + n, 0);
      log(`SQL floor (pass 5): ${int(fetched / (floor.ms / 1000))} records/s: pass 2's ${int(written)} rows written again by plain SQL in ${secs(floor.ms)} s ` +
        `(merged tables ${secs(floor.mergedMs)} s on one connection, staging ${secs(floor.stagedMs)} s beside it; ${floor.transactions} transactions; PG CPU ${secs(floor.pgCpuMs)} s);`);
      log(`                   pass 2 took ${fmt(pipelineMs / floor.ms)}x as long; the floor alone ${verdict(fetched / (floor.ms / 1000) >= TARGET_RPS)} (a lower bound: no HTTP, parsing, mapping or merge decisions)`);
    }
    // Only with every part measured in this run: the read (pass 1), the writes (pass 5), all CPU of pass 2.
    let budget: CpuBudget | null = null;
    if (reads.length && floor?.pgCpuMs != null && tot.pg !== null && !runs.some((r) => r.limited)) {
      const input: CpuBudgetInput = {
        records: fetched, targetRps: TARGET_RPS, cores: os.availableParallelism(), floorPgCpuMs: floor.pgCpuMs, floorMergedMs: floor.mergedMs,
        readNodeCpuMs: reads.reduce((a, r) => a + r.nodeCpuMs, 0), readSandboxCpuMs, mapMs: tot.map,
        pipelineCpuMs: tot.node + tot.pg + (tot.sandbox ?? 0),
      };
      budget = cpuBudget(input);
      for (const line of cpuBudgetLines(input, budget)) log(line);
    }
    if (mapping) {
      const batchedValid = !mapping.batched.engine.failures && !mapping.batched.bare.failures;
      log(`engine/bare JSONata: ${fmt(mapping.sequential.ratio)}x sequential, ${batchedValid ? `${fmt(mapping.batched.ratio)}x` : 'n/a (timeouts)'} batched   ` +
        `(target >= ${TARGET_MAPPING_RATIO}: ${verdict(mapping.sequential.ratio >= TARGET_MAPPING_RATIO)})`);
    }
    if (small.length) {
      log(`merge set-based:   statements/page @${args.pageSize} over @${args.smallPageSize}: at most ${fmt(worstGrowth)}x over all streams   ` +
        `(target: does not grow with page size, <= ${SET_BASED_TOLERANCE}x: ${verdict(worstGrowth <= SET_BASED_TOLERANCE)})`);
    }
    if (failed) log(`note: ${int(failed)} records failed mapping, validation or merge (kept in source_record with their error; see the counts above).`);
    const failedRuns = [...runs, ...small].filter((r) => r.result.status === 'FAILED' && !r.limited);
    const passOf = (r: StreamRun): string => (runs.includes(r) ? 'pass 2' : 'pass 4');
    for (const r of failedRuns) {
      log(`FAILED run ${r.key} (${passOf(r)}, after ${r.result.pages} pages): ${(r.result.error ?? '').replace(/\s+/g, ' ').slice(0, 300)}`);
    }
    if (failedRuns.length) {
      log(`The figures above cover what ran; ${failedRuns.length} stream run(s) failed, so the benchmark exits with status 1.`);
      process.exitCode = 1;
    }
    if (profileLines.length) {
      log();
      for (const line of profileLines) log(line);
    }
    log();

    const r2 = (n: number | null | undefined): number | null => (n === null || n === undefined || !Number.isFinite(n) ? null : Number(n.toFixed(2)));
    const summary = {
      bench: 'sync',
      records: args.records,
      split,
      pageSize: args.pageSize,
      fetched,
      merged,
      failed,
      unchanged,
      failedStreams: failedRuns.map((r) => `${passOf(r)}: ${r.key}`),
      distinctSerials: args.distinctSerials,
      seconds: r2(pipelineMs / 1000),
      recordsPerSecond: Math.round(rps),
      mergedPerSecond: Math.round(merged / (pipelineMs / 1000)),
      readOnlyRecordsPerSecond: Number.isFinite(readRps) ? Math.round(readRps) : null,
      phasesSeconds: { fetch: r2(tot.fetch / 1000), map: r2(tot.map / 1000), sql: r2(tot.sql / 1000), overlapped: r2(tot.overlap / 1000), other: r2(other / 1000), nodeCpu: r2(tot.node / 1000), pgCpu: tot.pg === null ? null : r2(tot.pg / 1000), sandboxCpu: tot.sandbox === null ? null : r2(tot.sandbox / 1000) },
      statementsPerRecord: r2(sum(runs, (r) => r.statements) / Math.max(1, fetched)),
      streams: Object.fromEntries(runs.map((r) => [r.key, {
        fetched: r.result.fetched, merged: r.result.merged, failed: r.result.failed, seconds: r2(r.wallMs / 1000),
        recordsPerSecond: Math.round(r.result.fetched / (r.wallMs / 1000)), statementsPerPage: r2(median(r.pages.map((p) => p.statements))),
      }])),
      statementsPerPage: small.length
        ? { large: args.pageSize, small: args.smallPageSize, worstGrowth: r2(worstGrowth),
          byStream: Object.fromEntries(small.map((s) => [s.key, [r2(median(firstPages(runs.find((r) => r.key === s.key)!, args.compareRecords).map((p) => p.statements))), r2(median(s.pages.map((p) => p.statements)))]])) }
        : null,
      mapping: mapping
        ? { name: mapping.name, records: mapping.records, engine: Math.round(mapping.sequential.engine.median), bare: Math.round(mapping.sequential.bare.median),
          ratio: r2(mapping.sequential.ratio), batchedRatio: r2(mapping.batched.ratio),
          batchedFailures: { engine: mapping.batched.engine.failures, bare: mapping.batched.bare.failures } }
        : null,
      rows,
      failuresByCode: Object.fromEntries(failureCodes.map((f) => [`${f.k} ${f.code}`, f.n])),
      sqlSecondsByStatement: Object.fromEntries(sqlByKind.slice(0, 10).map(([k, v]) => [k, r2(v.ms / 1000)])),
      mergeLockHeldSeconds: r2(lockHeldMs / 1000),
      floor: floor ? { seconds: r2(floor.ms / 1000), mergedSeconds: r2(floor.mergedMs / 1000), stagedSeconds: r2(floor.stagedMs / 1000),
        pgCpuSeconds: floor.pgCpuMs === null ? null : r2(floor.pgCpuMs / 1000), recordsPerSecond: Math.round(fetched / (floor.ms / 1000)), rows: floor.rows } : null,
      cpuBudget: budget ? {
        budgetSeconds: r2(budget.budgetMs / 1000), requiredSeconds: r2(budget.requiredMs / 1000), restSeconds: r2(budget.restMs / 1000),
        pipelineRestSeconds: r2(budget.pipelineRestMs / 1000), ceilingRecordsPerSecond: Math.round(budget.ceilingRps),
      } : null,
      loadAverageAtStart: r2(loadAtStart),
      semiSpace: semiSpaceSetting(),
      targets: { recordsPerSecond: TARGET_RPS, mappingRatio: TARGET_MAPPING_RATIO, statementsPerPageGrowth: SET_BASED_TOLERANCE },
    };
    log(JSON.stringify(summary));
  } finally {
    await closeInstances(setup.instances);
    await sandboxes.close();
    await monitor.end();
    await orm.close(true);
  }
}

// The pipeline runs as `junction sync` and `junction worker` run it: with their young generation.
if (!relaunchWithYoungGeneration({ always: true })) main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`bench:sync failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
