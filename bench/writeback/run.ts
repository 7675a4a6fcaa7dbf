/**
 * `npm run bench:writeback`: ticket changes → outbox → relay → BullMQ → write-back worker →
 * ThingsBoard sandbox effects. Relay and worker share this process's event loop; the sandbox (the
 * vendor) runs in a child process (sandbox-child.ts), as a remote system would.
 *
 * 1. Throughput: BENCH_WRITEBACK_N changes (default 10000; 50000 takes several minutes on a shared 2-core machine) committed in batches of 500 outbox
 *    rows, one device each (as many targets as changes, so per-record ordering does not
 *    serialize them); jobs/s = changes / (last effect − first commit).
 * 2. Latency: BENCH_WRITEBACK_PACED changes (default 1000) committed one per transaction at
 *    BENCH_WRITEBACK_RATE per second (default 200), below capacity: commit-to-pickup (the worker
 *    took the job) and commit-to-effect (the sandbox applied it) p50/p99.
 * 3. Baseline in the same run: the same attribute writes sent straight to the sandbox with axios
 *    (same concurrency), no outbox, no queue, no look-up.
 *
 * Needs PostgreSQL and Redis as for the tests; owns the database `junction_bench_writeback` and the
 * Redis key prefix `junction-bench-writeback`.
 */
import 'reflect-metadata';
import axios from 'axios';
import { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import { parseConnectorsConfig } from '../../src/connectors';
import { openOrm } from '../../src/db/orm';
import { bulkExecutor } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { MappingStore } from '../../src/mapping/store';
import { closeInstances, loadSyncSetup } from '../../src/sync/instances';
import { redisConnection } from '../../src/sync/queue';
import { ticketTag } from '../../src/writeback/change';
import { insertOutboxRows, OutboxRowInput } from '../../src/writeback/outbox';
import { startWritebackRuntime } from '../../src/writeback/runtime';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { SANDBOX_PASSWORD, SANDBOX_USERNAME } from '../../connectors/thingsboard/sandbox/data';
import { databaseUrls, recreateDatabase } from '../common/db';
import { formatPerJob, installCounters, readCounters, resetCounters, startProfile } from './counters';

const BENCH_DATABASE = 'junction_bench_writeback';
const PREFIX = 'junction-bench-writeback';
const N = Number(process.env.BENCH_WRITEBACK_N || 10_000);
const PACED = Number(process.env.BENCH_WRITEBACK_PACED || 1000);
const RATE = Number(process.env.BENCH_WRITEBACK_RATE || 200);
const CONCURRENCY = Number(process.env.BENCH_WRITEBACK_CONCURRENCY || 64);
/** Worker statements of one kind in flight at once (batch.ts); unset = the worker's default. */
const IN_FLIGHT = process.env.BENCH_WRITEBACK_INFLIGHT ? Number(process.env.BENCH_WRITEBACK_INFLIGHT) : undefined;
const TARGET_JOBS_PER_S = 2000;
const TARGET_PICKUP_P50_MS = 50;

const log = (s = '') => process.stdout.write(`${s}\n`);
const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : '-');

function change(i: number, deviceId: string, id: string): OutboxRowInput {
  const number = `T20261123-${String(i).padStart(6, '0')}`;
  const at = new Date().toISOString();
  return {
    ticketId: String(i + 1), ticketNumber: number, ticketVersion: 2, route: 'iot-maintenance', connector: 'iot', operation: 'maintenanceAttribute',
    mapping: 'thingsboard/maintenance', targetKey: `iot:device:${deviceId}:${id}`,
    payload: {
      tag: ticketTag(number), changed: ['status', 'solution'],
      ticket: { number, version: 2, status: 'RESOLVED', priority: 'P2', fault: '不制冷', solution: '更换压缩机', blockingReason: null,
        category: { level1: null, level2: null, level3: null }, resolvedAt: at, closedAt: null, updatedAt: at },
      customer: { id: '1', name: '张伟', phone: '+8613800000001' }, device: { id: String(i + 1), serial: `SN${i}`, model: null },
      target: { entity: 'device', stream: 'devices', externalId: deviceId, version: null },
    },
  };
}

async function commitBatch(orm: MikroORM, rows: OutboxRowInput[]): Promise<{ ids: string[]; at: number }> {
  const ids = await orm.em.fork().transactional((em) => insertOutboxRows(bulkExecutor(em), rows));
  return { ids, at: Date.now() };
}

interface SandboxChild {
  url: string;
  devices: string[];
  missing(keys: string[]): Promise<string[]>;
  snapshot(): Promise<{ firstAt: Record<string, number>; total: number; keys: number; duplicates: string[] }>;
  stop(): void;
}

/** The sandbox in its own process (see sandbox-child.ts); requests and answers over IPC. */
async function startSandboxChild(scale: number): Promise<SandboxChild> {
  const child = fork(join(__dirname, 'sandbox-child.js'), [String(scale)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const pending = new Map<number, (m: any) => void>();
  const ready = new Promise<{ url: string; devices: string[] }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox child exited with ${code}`)));
    child.on('message', (m: any) => {
      if (m.type === 'ready') resolve(m);
      else pending.get(m.id)?.(m);
    });
  });
  const ask = <T>(msg: object) => new Promise<T>((resolve) => {
    const id = ++seq;
    pending.set(id, (m) => { pending.delete(id); resolve(m); });
    child.send({ ...msg, id });
  });
  const { url, devices } = await ready;
  return {
    url, devices,
    missing: async (keys) => (await ask<{ keys: string[] }>({ type: 'missing', keys })).keys,
    snapshot: () => ask({ type: 'snapshot' }),
    stop: () => { child.removeAllListeners('exit'); child.send({ type: 'stop' }); },
  };
}

async function main() {
  installCounters();
  const { adminUrl, benchUrl } = databaseUrls(BENCH_DATABASE);
  await recreateDatabase(adminUrl, benchUrl, BENCH_DATABASE);
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const cleanup = new Redis(redisUrl);
  const stale = await cleanup.keys(`${PREFIX}:*`);
  if (stale.length) await cleanup.del(...stale);

  const total = N + PACED;
  const tb = await startSandboxChild(total);
  const devices = tb.devices.slice(-total);
  const yaml = `connectors:
  - name: iot
    type: thingsboard
    baseUrl: ${tb.url}
    sandbox: true
    rateLimit: { maxConcurrent: ${CONCURRENCY} }
    credentials: { username: { value: "${SANDBOX_USERNAME}" }, password: { value: "${SANDBOX_PASSWORD}" } }
`;
  const instances = loadSyncSetup(undefined, { config: parseConnectorsConfig(yaml), logger: () => undefined }).instances;
  const orm = await openOrm(benchUrl);
  const connection = redisConnection(redisUrl);
  log(`bench:writeback: ${N} changes (throughput), ${PACED} paced at ${RATE}/s (latency), worker concurrency ${CONCURRENCY}, ThingsBoard sandbox with ${devices.length} devices`);
  // As `junction worker` runs it: admin-saved mapping versions are applied before the jobs (prepare).
  const mappings = new MappingStore(orm, new MappingEngine());
  const runtime = await startWritebackRuntime({ orm, engine: mappings.engine, instances, connection, prefix: PREFIX, concurrency: CONCURRENCY,
    prepare: () => mappings.loadActive(),
    workerOptions: IN_FLIGHT ? { batch: { maxInFlight: IN_FLIGHT } } : undefined });

  const commitAt = new Map<string, number>();
  /** Waits until every id has its effect; checks only the ids still missing (cheap next to the work measured). */
  const waitEffects = async (ids: string[]) => {
    let missing = ids.map((id) => `junction-wb-${id}`);
    while (missing.length) {
      await new Promise((r) => setTimeout(r, 50));
      missing = await tb.missing(missing);
    }
  };

  // 1. Throughput
  const stopProfile = await startProfile(process.env.BENCH_WRITEBACK_PROFILE);
  resetCounters();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const allIds: string[] = [];
  for (let i = 0; i < N; i += 500) {
    const rows = [];
    for (let j = i; j < Math.min(N, i + 500); j++) rows.push(change(j, devices[j], `b${j}`));
    const { ids, at } = await commitBatch(orm, rows);
    for (const id of ids) commitAt.set(id, at);
    allIds.push(...ids);
  }
  const committedMs = Date.now() - t0;
  await waitEffects(allIds);
  const trips = readCounters();
  const cpu = process.cpuUsage(cpu0);
  const batches = runtime.worker?.statements.stats();
  await stopProfile();
  const firstAt = (await tb.snapshot()).firstAt;
  const lastEffect = Math.max(...allIds.map((id) => firstAt[`junction-wb-${id}`]));
  const wallMs = lastEffect - t0;
  const jobsPerS = (N / wallMs) * 1000;

  // 2. Latency, paced below capacity
  const pacedIds: string[] = [];
  const p0 = Date.now();
  for (let k = 0; k < PACED; k++) {
    const due = p0 + (k * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const { ids, at } = await commitBatch(orm, [change(N + k, devices[N + k], `p${k}`)]);
    commitAt.set(ids[0], at);
    pacedIds.push(ids[0]);
  }
  await waitEffects(pacedIds);
  const picked = await orm.em.getConnection().execute<{ id: string; picked: string }[]>(
    `select id, (extract(epoch from picked_at) * 1000)::float8 as picked from writeback_outbox where id = any(?::bigint[])`, [`{${pacedIds.join(',')}}`]);
  const snap = (await tb.snapshot()).firstAt;
  const pickup = picked.map((r) => Number(r.picked) - commitAt.get(String(r.id))!);
  const effect = pacedIds.map((id) => snap[`junction-wb-${id}`] - commitAt.get(id)!);
  const statuses = await orm.em.getConnection().execute<{ status: string; n: string }[]>(`select status, count(*) as n from writeback_outbox group by status order by status`);

  await runtime.close();
  connection.disconnect();

  // 3. Baseline: the same writes straight to the sandbox
  const token = (await axios.post(`${tb.url}/api/auth/login`, { username: SANDBOX_USERNAME, password: SANDBOX_PASSWORD })).data.token as string;
  const http = axios.create({ baseURL: tb.url, headers: { 'X-Authorization': `Bearer ${token}` } });
  const b0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < N; i = next++) {
      await http.post(`/api/plugins/telemetry/DEVICE/${devices[i]}/attributes/SERVER_SCOPE`, { junctionMaintenance: { ticket: `T${i}`, status: 'RESOLVED', key: `direct-${i}` } });
    }
  }));
  const directPerS = (N / (Date.now() - b0)) * 1000;

  const effects = await tb.snapshot();
  const dup = effects.duplicates.filter((k) => k.startsWith('junction-wb-')).length;
  log('');
  log(`outbox rows by status: ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}; duplicated effects ${dup}`);
  log(`throughput: ${N} changes committed in ${(committedMs / 1000).toFixed(1)} s, all applied after ${(wallMs / 1000).toFixed(1)} s: ${jobsPerS.toFixed(0)} jobs/s (target ≥ ${TARGET_JOBS_PER_S})`);
  log(`baseline: direct axios POSTs to the sandbox, concurrency ${CONCURRENCY}: ${directPerS.toFixed(0)} writes/s; write-back/direct = ${(jobsPerS / directPerS).toFixed(2)}`);
  log(`latency at ${RATE}/s (${PACED} changes): commit-to-pickup p50 ${ms(pct(pickup, 50))} p99 ${ms(pct(pickup, 99))} (target p50 < ${TARGET_PICKUP_P50_MS} ms); commit-to-effect p50 ${ms(pct(effect, 50))} p99 ${ms(pct(effect, 99))}`);
  for (const line of formatPerJob(trips, N)) log(line);
  // CPU of this process (relay, worker, the bench's own commits), less sensitive than jobs/s to what else runs on the machine.
  log(`  this process's CPU per job: ${((cpu.user + cpu.system) / N).toFixed(0)} µs (user ${(cpu.user / N).toFixed(0)}, system ${(cpu.system / N).toFixed(0)}), ${(((cpu.user + cpu.system) / 1000 / wallMs) * 100).toFixed(0)}% of a core`);
  if (batches) log(`  worker statements (jobs per statement): ${Object.entries(batches).map(([k, b]) => `${k} ${b.statements} (${b.statements ? (b.items / b.statements).toFixed(1) : '-'})`).join(', ')}`);
  log(`sandbox effects: ${effects.total} (${effects.keys} keys)`);

  await closeInstances(instances);
  tb.stop();
  await orm.close(true);
  const keys = await cleanup.keys(`${PREFIX}:*`);
  if (keys.length) await cleanup.del(...keys);
  cleanup.disconnect();
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
