/**
 * `npm run bench:lookup`: the portal's "type any identifier" lookup through the real gateway,
 * against one hand-written SQL statement over the same connection pool. See bench/README.md.
 */
import 'reflect-metadata';
import os from 'node:os';
import type { MikroORM } from '@mikro-orm/postgresql';
import { openOrm } from '../../src/db/orm';
import { BASE_CUSTOMERS, BenchArgs, USAGE, parseArgs } from './args';
import { BENCH_DATABASE, SEED_VERSION, databaseUrls, readMarker, recreateDatabase, withClient, migratePending } from './db';
import { countRows, seed } from './seed';
import { buildHeavySample, buildSample, SampleItem } from './sample';
import { LookupAnswer, sqlLookup, sqlLookupPrepared } from './baseline';
import { GraphqlClient, hubLookup, loadOperation } from './client';
import { canonicalCustomer, diff } from './compare';
import { profiled, summarizeProfile, writeProfile } from './profile';
import { LatencySummary, ThroughputResult, fmt, msSince, summarize, table, throughput } from './stats';

const TARGET_RATIO_P50 = 2.0;
const TARGET_HUB_P99_MS = 10;

const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

interface Side {
  name: string;
  call(identifier: string): Promise<LookupAnswer>;
}

interface SideRun {
  ms: number[];
  statements: number[];
  cpuMs: number;
}

async function prepareDatabase(args: BenchArgs, adminUrl: string, benchUrl: string): Promise<{ seedMs: number | null; counts: Record<string, number> }> {
  if (args.reuse) {
    const marker = await readMarker(adminUrl, benchUrl);
    if (marker && marker.customers === args.customers && marker.seed === args.seed && marker.version === SEED_VERSION) {
      log(`Reusing ${BENCH_DATABASE} (seeded with ${marker.customers} customers, seed ${marker.seed}).`);
      const pending = await migratePending(benchUrl);
      if (pending.length) log(`  applied pending migrations: ${pending.join(', ')}`);
      return { seedMs: null, counts: await withClient(benchUrl, countRows) };
    }
    log(`--reuse: ${BENCH_DATABASE} is ${marker ? `seeded differently (${JSON.stringify(marker)})` : 'missing or not fully seeded'}; rebuilding.`);
  }
  log(`Creating ${BENCH_DATABASE} and applying migrations...`);
  const migrations = await recreateDatabase(adminUrl, benchUrl);
  log(`  applied: ${migrations.join(', ')}`);
  log(`Seeding ${args.customers.toLocaleString('en-US')} customers (seed ${args.seed})...`);
  const report = await withClient(benchUrl, (c) => seed(c, args.customers, args.seed, log));
  log(`Seed time: ${(report.totalMs / 1000).toFixed(1)} s`);
  return { seedMs: report.totalMs, counts: report.counts };
}

/** Every side must return the same customer, devices, parts, tickets and history as the baseline. */
async function verify(picks: SampleItem[], sql: Side, others: Side[]): Promise<void> {
  for (const item of picks) {
    const expected = await sql.call(item.identifier);
    if (!expected.customer) throw new Error(`SQL baseline found no customer for "${item.identifier}" (${item.phone})`);
    for (const side of others) {
      const answer = await side.call(item.identifier);
      if (!answer.customer || answer.matchedBy !== 'PHONE') {
        throw new Error(`${side.name} did not match "${item.identifier}" (${item.phone}) by phone: matchedBy=${answer.matchedBy} reason=${answer.reason}`);
      }
      const differences = diff(canonicalCustomer(answer.customer), canonicalCustomer(expected.customer));
      if (differences.length) {
        throw new Error(`${side.name} and the SQL baseline disagree for "${item.identifier}" (customer ${item.customerId}):\n  ${differences.join('\n  ')}\n(left = ${side.name}, right = SQL)`);
      }
    }
  }
  log(`Verified: ${[sql.name, ...others.map((s) => s.name)].join(', ')} return the same data for ${picks.length} identifiers (${picks.map((p) => JSON.stringify(p.identifier)).join(', ')}).`);
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed === 'help') {
    log(USAGE);
    return;
  }
  const args = parsed;
  // Measure the gateway as deployed: graphql-js, express and others take slower checked paths otherwise.
  const nodeEnvSet = process.env.NODE_ENV !== undefined;
  process.env.NODE_ENV ??= 'production';
  const { adminUrl, benchUrl } = databaseUrls();
  log(`bench:lookup: ${args.customers.toLocaleString('en-US')} customers (scale ${args.customers / BASE_CUSTOMERS}), ` +
    `${os.cpus().length} CPUs, Node ${process.version}, NODE_ENV=${process.env.NODE_ENV}${nodeEnvSet ? '' : ' (default)'}`);
  const loadAtStart = os.loadavg()[0];
  if (loadAtStart > 0.7) log(`WARNING: load average is ${loadAtStart.toFixed(2)}: other work is running, latencies will be noisy.`);

  const db = await prepareDatabase(args, adminUrl, benchUrl);
  log(`Rows: ${Object.entries(db.counts).map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`).join(', ')}`);
  const dbSize = await withClient(benchUrl, async (c) => (await c.query(`SELECT pg_size_pretty(pg_database_size(current_database())) AS s`)).rows[0].s as string);
  log(`Database size: ${dbSize}`);
  if (args.seedOnly) return;

  const sample = buildSample(args.customers, args.seed, args.warmup + args.requests);
  const warm = sample.slice(0, args.warmup);
  const measured = sample.slice(args.warmup);
  const heavy = buildHeavySample(args.customers, args.seed, args.heavy);

  // The gateway (or, with --sql-only, a pool of our own) and the statement counter on its pool.
  let orm: MikroORM;
  let hub: Side | null = null;
  let stop: () => Promise<void>;
  let client: GraphqlClient | null = null;
  if (args.sqlOnly) {
    orm = await openOrm(benchUrl);
    stop = () => orm.close(true);
  } else {
    const { startHub } = await import('./hub');
    const started = await startHub(benchUrl);
    orm = started.orm;
    stop = started.close;
    const c = new GraphqlClient(started.url, started.apiKey, args.concurrency);
    const query = loadOperation();
    client = c;
    hub = { name: 'hub', call: (id) => hubLookup(c, query, id) };
    log(`Gateway: ${started.url}`);
  }
  let statements = 0;
  orm.em.getConnection().getKnex().on('query', () => {
    statements++;
  });
  const sql: Side = { name: 'sql', call: (id) => sqlLookup(orm, id) };
  const prepared: Side = { name: 'sql-prepared', call: (id) => sqlLookupPrepared(orm, id) };
  const sides = hub ? [hub, sql, prepared] : [sql, prepared];

  /** Sequential, interleaved (rotating which side goes first) so all sides see the same cache state. */
  const sequential = async (items: SampleItem[]): Promise<Map<string, SideRun>> => {
    const runs = new Map(sides.map((s) => [s.name, { ms: [], statements: [], cpuMs: 0 } as SideRun]));
    for (let i = 0; i < items.length; i++) {
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(i + k) % sides.length];
        const run = runs.get(side.name)!;
        const before = statements;
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const answer = await side.call(items[i].identifier);
        run.ms.push(msSince(t0));
        const cpu = process.cpuUsage(cpu0);
        run.cpuMs += (cpu.user + cpu.system) / 1000;
        run.statements.push(statements - before);
        if (!answer.customer) throw new Error(`${side.name} found no customer for "${items[i].identifier}" (${answer.reason})`);
      }
    }
    return runs;
  };

  try {
    const picks = [...measured.slice(0, 3), ...heavy.slice(0, 1)];
    await verify(picks, sql, sides.filter((s) => s !== sql));

    const tw = process.hrtime.bigint();
    await sequential(warm);
    log(`Warm-up: ${warm.length} requests per side in ${(msSince(tw) / 1000).toFixed(1)} s`);
    const ts = process.hrtime.bigint();
    const mainRuns = await sequential(measured);
    log(`Sequential: ${measured.length} requests per side in ${(msSince(ts) / 1000).toFixed(1)} s`);
    const heavyRuns = heavy.length ? await sequential(heavy) : null;
    if (heavyRuns) log(`Heavy customers: ${heavy.length} requests per side`);

    // Throughput: `concurrency` clients, fixed duration, bounded count.
    const ids = measured.map((m) => m.identifier);
    const maxRequests = Math.max(1, Math.round(args.duration * 5000));
    let hubRps: ThroughputResult | null = null;
    let sqlRps: ThroughputResult | null = null;
    let profileLines: string[] = [];
    if (hub) {
      const h = hub;
      log(`Throughput: hub, ${args.concurrency} concurrent clients, ${args.duration} s${args.profile ? ' (CPU-profiled)' : ''}...`);
      const run = () => throughput(ids, args.concurrency, args.duration, maxRequests, async (id) => {
        await h.call(id);
      });
      if (args.profile) {
        const { result, profile } = await profiled(run);
        hubRps = result;
        profileLines = [`CPU profile of the hub throughput phase: ${writeProfile(profile, 'lookup-hub.cpuprofile')}`, ...summarizeProfile(profile)];
      } else {
        hubRps = await run();
      }
    }
    if (args.sqlRps || !hub) {
      log(`Throughput: SQL, ${args.concurrency} concurrent clients, ${args.duration} s...`);
      sqlRps = await throughput(ids, args.concurrency, args.duration, maxRequests, async (id) => {
        await sql.call(id);
      });
    }

    // Report.
    const lat = (runs: Map<string, SideRun> | null, name: string): LatencySummary | null => {
      const r = runs?.get(name);
      return r ? summarize(r.ms) : null;
    };
    const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    const hubLat = lat(mainRuns, 'hub');
    const sqlLat = lat(mainRuns, 'sql')!;
    const prepLat = lat(mainRuns, 'sql-prepared')!;
    const row = (label: string, s: LatencySummary | null): string[] =>
      s ? [label, String(s.count), fmt(s.mean), fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max)] : [label, '-', '-', '-', '-', '-', '-'];
    const rows: string[][] = [['sequential latency (ms)', 'n', 'mean', 'p50', 'p90', 'p99', 'max']];
    if (hubLat) rows.push(row('hub  GraphQL over HTTP', hubLat));
    rows.push(row('sql  one statement (execute)', sqlLat));
    rows.push(row('ref: same SQL, prepared', prepLat));
    if (heavyRuns) {
      if (hub) rows.push(row('hub  heavy customers only', lat(heavyRuns, 'hub')));
      rows.push(row('sql  heavy customers only', lat(heavyRuns, 'sql')));
    }
    log();
    log(table(rows));

    const ratioP50 = hubLat ? hubLat.p50 / sqlLat.p50 : NaN;
    const ratioP99 = hubLat ? hubLat.p99 / sqlLat.p99 : NaN;
    const stmtHub = mainRuns.get('hub')?.statements ?? [];
    const stmtSql = mean(mainRuns.get('sql')!.statements);
    const cpuPer = (name: string): number => (mainRuns.get(name)?.cpuMs ?? NaN) / measured.length;
    const verdict = (pass: boolean): string => (pass ? 'meets target' : 'MISSES target');
    log();
    if (hubLat) {
      log(`ratio hub/sql p50: ${fmt(ratioP50)}x   (target <= ${TARGET_RATIO_P50.toFixed(1)}x: ${verdict(ratioP50 <= TARGET_RATIO_P50)})`);
      log(`ratio hub/sql p99: ${fmt(ratioP99)}x`);
      log(`hub p99:           ${fmt(hubLat.p99)} ms (target < ${TARGET_HUB_P99_MS} ms: ${verdict(hubLat.p99 < TARGET_HUB_P99_MS)})`);
      log(`(reference, hub vs prepared SQL: p50 ${fmt(hubLat.p50 / prepLat.p50)}x, p99 ${fmt(hubLat.p99 / prepLat.p99)}x)`);
      log(`SQL statements per hub lookup: mean ${fmt(mean(stmtHub), 1)}, min ${Math.min(...stmtHub)}, max ${Math.max(...stmtHub)}   (baseline: ${fmt(stmtSql, 1)})`);
      log(`Node CPU per lookup (client + gateway in this process): hub ${fmt(cpuPer('hub'))} ms, sql ${fmt(cpuPer('sql'))} ms`);
    } else {
      log(`SQL statements per baseline lookup: ${fmt(stmtSql, 1)}; Node CPU per lookup ${fmt(cpuPer('sql'))} ms`);
    }
    const rpsRows: string[][] = [[`throughput, ${args.concurrency} clients`, 'requests', 'errors', 'seconds', 'req/s', 'p50', 'p99']];
    for (const [label, r] of [['hub', hubRps], ['sql', sqlRps]] as const) {
      if (r) rpsRows.push([label, String(r.requests), String(r.errors), fmt(r.seconds, 1), fmt(r.rps, 0), fmt(r.latency.p50), fmt(r.latency.p99)]);
    }
    log();
    log(table(rpsRows));
    for (const r of [hubRps, sqlRps]) if (r?.firstError) log(`  first error: ${r.firstError}`);
    if (profileLines.length) {
      log();
      for (const line of profileLines) log(line);
    }
    log();

    const r2 = (n: number | undefined | null): number | null => (n === undefined || n === null || !Number.isFinite(n) ? null : Number(n.toFixed(2)));
    const summary = {
      bench: 'lookup',
      customers: args.customers,
      rows: db.counts,
      seedSeconds: db.seedMs === null ? null : r2(db.seedMs / 1000),
      requests: measured.length,
      nodeEnv: process.env.NODE_ENV,
      loadAverageAtStart: r2(loadAtStart),
      hub: hubLat ? { p50: r2(hubLat.p50), p99: r2(hubLat.p99), mean: r2(hubLat.mean) } : null,
      sql: { p50: r2(sqlLat.p50), p99: r2(sqlLat.p99), mean: r2(sqlLat.mean) },
      sqlPrepared: { p50: r2(prepLat.p50), p99: r2(prepLat.p99) },
      ratioP50: r2(ratioP50),
      ratioP99: r2(ratioP99),
      heavy: heavyRuns ? { hubP50: r2(lat(heavyRuns, 'hub')?.p50), sqlP50: r2(lat(heavyRuns, 'sql')?.p50) } : null,
      statementsPerLookup: hubLat ? r2(mean(stmtHub)) : null,
      cpuMsPerLookup: { hub: r2(cpuPer('hub')), sql: r2(cpuPer('sql')) },
      hubRps: hubRps ? Math.round(hubRps.rps) : null,
      sqlRps: sqlRps ? Math.round(sqlRps.rps) : null,
      concurrency: args.concurrency,
      targets: { ratioP50: TARGET_RATIO_P50, hubP99Ms: TARGET_HUB_P99_MS },
    };
    log(JSON.stringify(summary));
  } finally {
    client?.close();
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:lookup failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
