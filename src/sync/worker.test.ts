/**
 * The sync worker with real Redis, a real PostgreSQL database and the real pipeline (the source
 * system is a stand-in whose reads can be held open): jobs become sync_run rows; two runs of one
 * stream never overlap (advisory lock, also against a CLI-style run); failures retry and keep
 * their error; shutdown puts an interrupted job back without using an attempt.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import { sqlRows } from '../db/sql';
import { pgDate } from '../graph/types/scalars';
import { MappingStore } from '../mapping/store';
import { startWorkerRuntime } from '../cli/worker';
import { useTestDatabase } from '../../tests/support/databases';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL } from '../../tests/support/queues';
import { gatedSource, GatedSource } from '../../tests/support/sync';
import { lockStream, LockOptions, StreamLock, streamLockHolder, tryLockStream as tryLock, withStreamLock } from './lock';
import { SyncPipeline } from './pipeline';
import { applySchedules, createSyncQueue, enqueueSync, redisConnection, SyncQueue, SYNC_JOB } from './queue';
import { startSyncWorker, SyncWorker } from './worker';

const db = useTestDatabase();
let source: GatedSource;
let pipeline: SyncPipeline;
let prefix: string;
let connection: Redis;
let queue: SyncQueue;
let worker: SyncWorker | null;
/** Locks a test took: released after it even when it fails, so one failure does not block the next tests. */
const held: StreamLock[] = [];

async function tryLockStream(o: MikroORM, connector: string, stream: string, opts?: LockOptions): Promise<StreamLock | null> {
  const lock = await tryLock(o, connector, stream, opts);
  if (lock) held.push(lock);
  return lock;
}

const runs = () => sqlRows<any>(db.orm, `select id, connector, stream, mode, status, trigger, started_at, finished_at, fetched, merged, failed, error from sync_run order by id`);

beforeEach(async () => {
  await sqlRows(db.orm, 'delete from sync_run');
  await sqlRows(db.orm, 'delete from source_record'); // every test's records count as new
  source = gatedSource('src');
  pipeline = new SyncPipeline(db.orm, source.engine, source.instances);
  prefix = testQueuePrefix();
  connection = redisConnection(TEST_REDIS_URL);
  queue = createSyncQueue({ connection, prefix });
  worker = null;
});
afterEach(async () => {
  source.release();
  await Promise.all(held.splice(0).map((l) => l.release()));
  await worker?.close();
  await queue.close();
  connection.disconnect();
  await cleanQueuePrefix(prefix);
  source.cleanup();
});

function start(opts: { concurrency?: number; busyDelayMs?: number } = {}): SyncWorker {
  worker = startSyncWorker({ connection: TEST_REDIS_URL, prefix, orm: db.orm, pipeline, instances: source.instances, concurrency: opts.concurrency ?? 2, busyDelayMs: opts.busyDelayMs ?? 200 });
  return worker;
}

const finished = (jobId: string) => eventually(async () => {
  const state = await queue.getJobState(jobId);
  return state === 'completed' || state === 'failed' ? state : undefined;
}, 15_000, `job ${jobId} to finish`);

describe('sync worker', () => {
  it('runs a queued job through the pipeline: a sync_run row, merged records, the run in the job result', async () => {
    start();
    const job = await enqueueSync(queue, { connector: 'src', stream: 'people', full: false, trigger: 'api' });
    expect(await finished(job.jobId)).toBe('completed');
    const [run] = await runs();
    expect(run).toMatchObject({ connector: 'src', stream: 'people', mode: 'incremental', status: 'SUCCEEDED', trigger: 'api', fetched: 3, merged: 3, failed: 0 });
    const done = (await queue.getJob(job.jobId))!;
    expect(done.returnvalue).toMatchObject({ runId: String(run.id), status: 'SUCCEEDED', fetched: 3, merged: 3 });
    const customers = await sqlRows<any>(db.orm, `select count(*)::int n from customer where phone like '+86138001380%'`);
    expect(customers[0].n).toBe(3);
  });

  it('runs `prepare` before each run: admin-saved mapping versions apply to queued syncs', async () => {
    const store = new MappingStore(db.orm, source.engine);
    worker = startSyncWorker({ connection: TEST_REDIS_URL, prefix, orm: db.orm, pipeline, instances: source.instances, prepare: () => store.loadActive() });
    await sqlRows(db.orm, `insert into mapping_version (name, version, source, created_by, active) values ('testsrc/people', 3, ?, 'test', true)`,
      ['{ "entity": "customer", "phone": phone, "name": "Saved " & name }']);
    try {
      const job = await enqueueSync(queue, { connector: 'src', stream: 'people', full: true, trigger: 'api' });
      expect(await finished(job.jobId)).toBe('completed');
      const names = await sqlRows<any>(db.orm, `select name from customer where phone like '+86138001380%' order by phone`);
      expect(names.map((n) => n.name)).toEqual(['Saved Person 0 (read 1)', 'Saved Person 1 (read 1)', 'Saved Person 2 (read 1)']);
    } finally {
      await sqlRows(db.orm, `delete from mapping_version where name = 'testsrc/people'`);
    }
  });

  it('passes full and the trigger of scheduled jobs to the pipeline', async () => {
    start();
    await applySchedules(queue, [{ connector: 'src', stream: 'people', spec: { every: 60_000 } }]);
    await eventually(async () => (await runs()).find((r) => r.status !== 'RUNNING'), 10_000, 'the scheduled run');
    const full = await enqueueSync(queue, { connector: 'src', stream: 'people', full: true, trigger: 'api' });
    await finished(full.jobId);
    expect((await runs()).map((r) => [r.trigger, r.mode, r.status])).toEqual([['schedule', 'incremental', 'SUCCEEDED'], ['api', 'full', 'SUCCEEDED']]);
  });

  it('completes PARTIAL runs (records failed, kept with their errors) without retrying', async () => {
    source.badRecord = true;
    start();
    const job = await enqueueSync(queue, { connector: 'src', stream: 'people', full: false, trigger: 'api' });
    expect(await finished(job.jobId)).toBe('completed');
    expect((await runs()).map((r) => [r.status, r.failed])).toEqual([['PARTIAL', 1]]);
    const done = (await queue.getJob(job.jobId))!;
    expect(done.attemptsMade).toBe(1);
    expect(done.returnvalue).toMatchObject({ status: 'PARTIAL', failed: 1, merged: 3 });
  });

  it('retries a FAILED run with backoff and keeps the error on the job; every attempt is a sync_run row', async () => {
    source.failNext(5, 'vendor is down');
    start();
    const job = await queue.add(SYNC_JOB, { connector: 'src', stream: 'people', full: false, trigger: 'api' }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
    expect(await finished(job.id!)).toBe('failed');
    const failed = (await queue.getJob(job.id!))!;
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toMatch(/^src\/people run \d+ failed: CONNECTOR_UNAVAILABLE: vendor is down$/);
    expect((await runs()).map((r) => [r.status, r.error])).toEqual([
      ['FAILED', 'CONNECTOR_UNAVAILABLE: vendor is down'],
      ['FAILED', 'CONNECTOR_UNAVAILABLE: vendor is down'],
    ]);
  });

  it('parks a manual job the vendor rate-limited until the vendor allows it, without using an attempt', async () => {
    source.failNext(1, 'TotalRequests limit exceeded', { code: 'CONNECTOR_RATE_LIMITED', retryAfterMs: 1500 });
    start();
    const job = await queue.add(SYNC_JOB, { connector: 'src', stream: 'people', full: false, trigger: 'api' }, { attempts: 1 });
    await eventually(async () => (await queue.getJobState(job.id!)) === 'delayed', 10_000, 'job parked');
    expect((await queue.getJob(job.id!))!.attemptsMade).toBe(0);
    expect(await finished(job.id!)).toBe('completed');
    const [limited, resumed] = await runs();
    expect([limited.status, limited.error, resumed.status]).toEqual(['FAILED', 'CONNECTOR_RATE_LIMITED: TotalRequests limit exceeded', 'SUCCEEDED']);
    // Came back when the vendor said, not at once (and not after BullMQ's backoff: attempts is 1).
    expect(pgDate(resumed.started_at)!.getTime() - pgDate(limited.finished_at)!.getTime()).toBeGreaterThanOrEqual(1400);
    expect((await queue.getJob(job.id!))!.returnvalue).toMatchObject({ status: 'SUCCEEDED', merged: 3 });
  });

  it('completes a rate-limited scheduled run without retrying it (the next tick resumes), and fails a manual one parked too long', async () => {
    source.failNext(1, 'TotalRequests limit exceeded', { code: 'CONNECTOR_RATE_LIMITED', retryAfterMs: 3_600_000 });
    worker = startSyncWorker({ connection: TEST_REDIS_URL, prefix, orm: db.orm, pipeline, instances: source.instances, maxRateLimitWaitMs: 60_000 });
    const tick = await queue.add(SYNC_JOB, { connector: 'src', stream: 'people', full: false, trigger: 'schedule' }, { attempts: 3 });
    expect(await finished(tick.id!)).toBe('completed');
    const done = (await queue.getJob(tick.id!))!;
    expect(done.attemptsMade).toBe(1);
    expect(done.returnvalue).toMatchObject({ status: 'FAILED', rateLimitedForMs: 3_600_000 });

    // An hour away is past this worker's 60 s limit: a manual job fails as any failed run would, error kept.
    source.failNext(1, 'TotalRequests limit exceeded', { code: 'CONNECTOR_RATE_LIMITED', retryAfterMs: 3_600_000 });
    const manual = await queue.add(SYNC_JOB, { connector: 'src', stream: 'people', full: false, trigger: 'api' }, { attempts: 1 });
    expect(await finished(manual.id!)).toBe('failed');
    expect((await queue.getJob(manual.id!))!.failedReason).toMatch(/failed: CONNECTOR_RATE_LIMITED: TotalRequests limit exceeded$/);
    expect((await runs()).map((r) => r.status)).toEqual(['FAILED', 'FAILED']);
  });

  it('fails a job for a connector or stream no longer configured at once, without retries', async () => {
    start();
    const job = await queue.add(SYNC_JOB, { connector: 'src', stream: 'gone', full: false, trigger: 'schedule' }, { attempts: 3 });
    expect(await finished(job.id!)).toBe('failed');
    const failed = (await queue.getJob(job.id!))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/unknown stream "gone" of connector src \(streams: people\)/);
    expect(await runs()).toEqual([]);
  });
});

describe('one run per stream at a time', () => {
  it('skips a scheduled run while the stream is being synced, and delays a manual one until it is free', async () => {
    start({ concurrency: 3 });
    source.hold();
    const reading = source.nextRead();
    const first = await enqueueSync(queue, { connector: 'src', stream: 'people', full: false, trigger: 'api' });
    await reading;

    // A scheduler tick arrives while the first run is still reading.
    const tick = await queue.add(SYNC_JOB, { connector: 'src', stream: 'people', full: false, trigger: 'schedule' });
    expect(await finished(tick.id!)).toBe('completed');
    expect((await queue.getJob(tick.id!))!.returnvalue.skipped).toMatch(/^src\/people was already being synced by junction worker sync src\/people/);

    // A manual full run (another job id: dedup only covers one manual request at a time, so add it directly).
    const manual = await queue.add(SYNC_JOB, { connector: 'src', stream: 'people', full: true, trigger: 'api' });
    await eventually(async () => (await queue.getJobState(manual.id!)) === 'delayed' && (await queue.getJob(manual.id!))!.attemptsMade === 0, 5000, 'manual job delayed');
    expect(source.reads).toBe(1);
    expect((await runs()).map((r) => r.status)).toEqual(['RUNNING']);

    source.release();
    expect(await finished(first.jobId)).toBe('completed');
    expect(await finished(manual.id!)).toBe('completed');
    const all = await runs();
    expect(all.map((r) => [r.mode, r.status])).toEqual([['incremental', 'SUCCEEDED'], ['full', 'SUCCEEDED']]);
    expect(pgDate(all[1].started_at)!.getTime()).toBeGreaterThanOrEqual(pgDate(all[0].finished_at)!.getTime());
    expect(source.maxActive).toBe(1);
  });

  it('never runs the same stream in two workers at once, nor alongside a CLI-style run', async () => {
    // The CLI holds the stream: a second worker process is simulated by a second worker.
    const cli = await tryLockStream(db.orm, 'src', 'people', { holder: 'junction sync' });
    expect(cli).not.toBeNull();
    expect((await streamLockHolder(db.orm, 'src', 'people'))?.applicationName).toBe('junction sync sync src/people');
    const w1 = start({ concurrency: 2, busyDelayMs: 100 });
    const w2 = startSyncWorker({ connection: TEST_REDIS_URL, prefix, orm: db.orm, pipeline, instances: source.instances, concurrency: 2, busyDelayMs: 100 });
    try {
      const a = await queue.add(SYNC_JOB, { connector: 'src', stream: 'people', full: false, trigger: 'api' });
      const b = await queue.add(SYNC_JOB, { connector: 'src', stream: 'people', full: true, trigger: 'api' });
      // Both are put back (delayed) while the CLI's run holds the stream, again and again.
      for (const id of [a.id!, b.id!]) await eventually(async () => (await queue.getJobState(id)) === 'delayed', 10_000, `job ${id} delayed`);
      await new Promise((r) => setTimeout(r, 300));
      expect(source.reads).toBe(0);
      expect((await runs()).length).toBe(0);
      await cli!.release();
      expect(await finished(a.id!)).toBe('completed');
      expect(await finished(b.id!)).toBe('completed');
      expect(source.reads).toBe(2);
      expect(source.maxActive).toBe(1);
      const [r1, r2] = await runs();
      expect(pgDate(r2.started_at)!.getTime()).toBeGreaterThanOrEqual(pgDate(r1.finished_at)!.getTime());
    } finally {
      await w2.close();
      void w1;
    }
  });

  it('lets a waiting lock (CLI) through only when the running one is released; other streams are not blocked', async () => {
    const first = await tryLockStream(db.orm, 'src', 'people');
    expect(first).not.toBeNull();
    expect(await tryLockStream(db.orm, 'src', 'people')).toBeNull();
    const other = await withStreamLock(db.orm, 'src', 'other', async () => 'ran');
    expect(other).toEqual({ ran: true, value: 'ran' });
    const busy = await withStreamLock(db.orm, 'src', 'people', async () => 'ran');
    expect(busy).toEqual({ ran: false });

    let waited = false;
    let got = false;
    const waiting = lockStream(db.orm, 'src', 'people', { pollMs: 50, onWait: () => { waited = true; } }).then((l) => { got = true; held.push(l); return l; });
    await eventually(async () => waited, 10_000, 'the second taker to wait');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toBe(false);
    await first!.release();
    const second = await waiting;
    expect(got).toBe(true);
    await second.release();
    // Released for good: free again.
    const again = await tryLockStream(db.orm, 'src', 'people');
    expect(again).not.toBeNull();
    await again!.release();
  });

  it('stops waiting for a lock when asked to', async () => {
    expect(await tryLockStream(db.orm, 'src', 'people')).not.toBeNull();
    const stop = new AbortController();
    let waited = false;
    const waiting = lockStream(db.orm, 'src', 'people', { pollMs: 50, signal: stop.signal, onWait: () => { waited = true; } });
    await eventually(async () => waited, 10_000, 'the taker to wait');
    stop.abort(new Error('interrupted'));
    await expect(waiting).rejects.toThrow('interrupted');
  });
});

describe('junction worker runtime', () => {
  it('applies the schedules, processes jobs with saved mappings applied, and closes', async () => {
    const runtime = await startWorkerRuntime({
      orm: db.orm, redisUrl: TEST_REDIS_URL, prefix, engine: source.engine, concurrency: 1,
      setup: { source: 'test', instances: source.instances, schedules: [{ connector: 'src', stream: 'people', spec: { pattern: '0 3 * * *', tz: 'Asia/Shanghai' } }] },
    });
    try {
      expect(runtime.applied).toEqual({ upserted: ['sync:src/people'], removed: [] });
      expect(await queue.getJobScheduler('sync:src/people')).toMatchObject({ pattern: '0 3 * * *', tz: 'Asia/Shanghai' });
      await sqlRows(db.orm, `insert into mapping_version (name, version, source, created_by, active) values ('testsrc/people', 1, ?, 'test', true)`,
        ['{ "entity": "customer", "phone": phone, "name": "Runtime " & name }']);
      const job = await enqueueSync(queue, { connector: 'src', stream: 'people', full: true, trigger: 'api' });
      expect(await finished(job.jobId)).toBe('completed');
      const [c] = await sqlRows<any>(db.orm, `select name from customer where phone = '+8613800138000'`);
      expect(c.name).toBe('Runtime Person 0 (read 1)');
    } finally {
      await sqlRows(db.orm, `delete from mapping_version where name = 'testsrc/people'`);
      await runtime.close();
    }
    expect(await runtime.sync.worker.isRunning()).toBe(false);
  });
});

describe('worker shutdown', () => {
  it('aborts a running sync and puts its job back without using an attempt', async () => {
    const w = start();
    source.hold();
    const reading = source.nextRead();
    const job = await enqueueSync(queue, { connector: 'src', stream: 'people', full: false, trigger: 'api' });
    await reading;
    await w.close();
    worker = null;
    const back = (await queue.getJob(job.jobId))!;
    expect(await back.getState()).toBe('delayed');
    expect(back.attemptsMade).toBe(0);
    expect((await runs()).map((r) => [r.status, r.error])).toEqual([['FAILED', 'worker shutting down']]);
    // The lock went with the run.
    const lock = await tryLockStream(db.orm, 'src', 'people');
    expect(lock).not.toBeNull();
    await lock!.release();

    // The next worker picks the job up and completes it.
    source.release();
    start();
    expect(await finished(job.jobId)).toBe('completed');
    expect((await runs()).map((r) => r.status)).toEqual(['FAILED', 'SUCCEEDED']);
  });
});
