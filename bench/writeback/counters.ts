/**
 * Round-trip counters for bench:writeback: SQL statements (every pg client, so the worker's pool,
 * the relay's MikroORM connection and the bench's own commits), Redis commands (every ioredis
 * connection: BullMQ's scripts, blocking waits, the relay's adds) and outgoing HTTP requests (the
 * connector's calls to the sandbox). Patched in this process only; reset and read per phase.
 */
import { channel } from 'node:diagnostics_channel';
import { Client } from 'pg';
import { Redis } from 'ioredis';

export interface RoundTrips {
  sql: number;
  redis: number;
  /** Of those, sent inside a pipeline or MULTI (one write for several commands). */
  redisPipelined: number;
  http: number;
  /** TCP connections opened (keep-alive should keep this near the number of sockets in use). */
  connects: number;
  /** Redis commands by name (evalsha counted under the BullMQ script it runs, when known). */
  redisBy: Record<string, number>;
  sqlBy: Record<string, number>;
  httpBy: Record<string, number>;
}

const counts: RoundTrips = { sql: 0, redis: 0, redisPipelined: 0, http: 0, connects: 0, redisBy: {}, sqlBy: {}, httpBy: {} };
const bump = (by: Record<string, number>, k: string) => { by[k] = (by[k] ?? 0) + 1; };

/** First words of a statement, enough to tell them apart. */
function sqlLabel(q: unknown): string {
  const text = typeof q === 'string' ? q : (q as { text?: string } | null)?.text ?? '?';
  return text.replace(/\s+/g, ' ').trim().slice(0, 48);
}

let installed = false;
export function installCounters(): void {
  if (installed) return;
  installed = true;
  const query = Client.prototype.query as (...a: unknown[]) => unknown;
  (Client.prototype as unknown as { query: unknown }).query = function (this: Client, ...args: unknown[]) {
    counts.sql++;
    bump(counts.sqlBy, sqlLabel(args[0]));
    return query.apply(this, args);
  };
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: Redis, command, stream) {
    counts.redis++;
    if ((stream as { isPipeline?: boolean } | undefined)?.isPipeline) counts.redisPipelined++;
    const c = command as unknown as { name: string; args: unknown[] };
    // BullMQ names its scripts by their sha; the number of keys is a good enough hint to group them.
    bump(counts.redisBy, c.name === 'evalsha' || c.name === 'eval' ? `${c.name}:${String(c.args?.[1])}keys` : c.name);
    return send.call(this, command, stream);
  };
  channel('net.client.socket').subscribe(() => void counts.connects++);
  channel('http.client.request.start').subscribe((m) => {
    counts.http++;
    const req = (m as { request: { method: string; path: string } }).request;
    bump(counts.httpBy, `${req.method} ${req.path.replace(/[0-9a-f-]{36}/g, ':id').replace(/\?.*/, '')}`);
  });
}

export function resetCounters(): void {
  counts.sql = counts.redis = counts.redisPipelined = counts.http = counts.connects = 0;
  counts.redisBy = {};
  counts.sqlBy = {};
  counts.httpBy = {};
}

export function readCounters(): RoundTrips {
  return { ...counts, redisBy: { ...counts.redisBy }, sqlBy: { ...counts.sqlBy }, httpBy: { ...counts.httpBy } };
}

/** "sql 2.01, redis 3.40, http 1.00 per job" and the biggest contributors. */
export function formatPerJob(c: RoundTrips, jobs: number): string[] {
  const top = (by: Record<string, number>) =>
    Object.entries(by).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${(n / jobs).toFixed(2)} ${k}`).join('; ');
  return [
    `round trips per job: SQL ${(c.sql / jobs).toFixed(2)}, Redis ${(c.redis / jobs).toFixed(2)} (${(c.redisPipelined / jobs).toFixed(2)} of them pipelined), HTTP ${(c.http / jobs).toFixed(2)}; TCP connections opened ${c.connects}`,
    `  SQL:   ${top(c.sqlBy)}`,
    `  Redis: ${top(c.redisBy)}`,
    `  HTTP:  ${top(c.httpBy)}`,
  ];
}

/**
 * BENCH_WRITEBACK_PROFILE=<file.cpuprofile>: a CPU profile of the throughput phase only (not the
 * setup nor the direct-write baseline), for Chrome DevTools or `summarizeProfile`.
 */
export async function startProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => undefined;
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return async () => {
    const { profile } = await post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}
