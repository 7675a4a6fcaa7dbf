/**
 * The sync queue against a real Redis (own key prefix per test, cleaned after): schedules from
 * config become BullMQ job schedulers and follow config changes; manual runs of one stream are
 * deduplicated while queued or running, and only then.
 */
import { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL, workerConnection } from '../../tests/support/queues';
import { applySchedules, createSyncQueue, enqueueSync, redisConnection, schedulerId, SyncJobData, SyncQueue, SYNC_JOB, SYNC_JOB_OPTIONS, SYNC_QUEUE } from './queue';
import { DEFAULT_EVERY_MS, extractSchedules, resolveSchedules, StreamSchedule } from './schedule';
import { parseConnectorsConfig } from '../connectors/config';

let prefix: string;
let connection: Redis;
let queue: SyncQueue;
const workers: Worker[] = [];

beforeEach(() => {
  prefix = testQueuePrefix();
  connection = redisConnection(TEST_REDIS_URL);
  queue = createSyncQueue({ connection, prefix });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await queue.close();
  connection.disconnect();
  await cleanQueuePrefix(prefix);
});

function schedulesFrom(streams: string, all: string[]): StreamSchedule[] {
  const config = parseConnectorsConfig(`
connectors:
  - name: crm
    type: salesforce
    baseUrl: https://crm.example.test
    streams:
${streams}
`);
  return resolveSchedules(new Map([['crm', all]]), extractSchedules(config).configured);
}

describe('stream schedules in Redis', () => {
  it('registers one job scheduler per scheduled stream, as configured, and none for schedule: false', async () => {
    const schedules = schedulesFrom(
      `      accounts: { schedule: { every: 5m } }
      cases: { schedule: { pattern: '0 8-20 * * 1-5', tz: Asia/Shanghai } }
      contacts: { schedule: false }`,
      ['accounts', 'cases', 'contacts', 'products'],
    );
    const applied = await applySchedules(queue, schedules);
    expect(applied.upserted.sort()).toEqual(['sync:crm/accounts', 'sync:crm/cases', 'sync:crm/products']);

    const byId = new Map((await queue.getJobSchedulers(0, -1, true)).map((s) => [s.key, s]));
    expect([...byId.keys()].sort()).toEqual(['sync:crm/accounts', 'sync:crm/cases', 'sync:crm/products']);
    expect(byId.get('sync:crm/accounts')).toMatchObject({ every: 300_000, name: SYNC_JOB });
    expect(byId.get('sync:crm/cases')).toMatchObject({ pattern: '0 8-20 * * 1-5', tz: 'Asia/Shanghai' });
    expect(byId.get('sync:crm/products')).toMatchObject({ every: DEFAULT_EVERY_MS });
    expect(byId.has(schedulerId('crm', 'contacts'))).toBe(false);

    // Each scheduler has its next run queued (an interval's first run at once, a cron's at its next
    // time), carrying the job data and the retry options.
    const scheduler = await queue.getJobScheduler('sync:crm/accounts');
    expect(scheduler?.template?.data).toEqual({ connector: 'crm', stream: 'accounts', full: false, trigger: 'schedule' });
    const pending = await queue.getJobs(['waiting', 'delayed']);
    expect(pending.map((j) => j.data.stream).sort()).toEqual(['accounts', 'cases', 'products']);
    const next = pending.find((j) => j.data.stream === 'accounts')!;
    expect(next.name).toBe(SYNC_JOB);
    expect(next.opts).toMatchObject({ attempts: SYNC_JOB_OPTIONS.attempts, backoff: SYNC_JOB_OPTIONS.backoff });
    expect(await queue.getJobState(pending.find((j) => j.data.stream === 'cases')!.id!)).toBe('delayed');
  });

  it('follows config changes: a stream switched off or removed loses its scheduler; applying twice changes nothing', async () => {
    await applySchedules(queue, schedulesFrom(`      accounts: { schedule: { every: 5m } }`, ['accounts', 'cases']));
    expect((await queue.getJobSchedulers()).map((s) => s.key).sort()).toEqual(['sync:crm/accounts', 'sync:crm/cases']);

    const changed = schedulesFrom(`      accounts: { schedule: { every: 10m } }
      cases: { schedule: false }`, ['accounts', 'cases']);
    expect(await applySchedules(queue, changed)).toEqual({ upserted: ['sync:crm/accounts'], removed: ['sync:crm/cases'] });
    expect(await applySchedules(queue, changed)).toEqual({ upserted: ['sync:crm/accounts'], removed: [] });
    const all = await queue.getJobSchedulers();
    expect(all.map((s) => [s.key, s.every])).toEqual([['sync:crm/accounts', 600_000]]);
    const pending = await queue.getJobs(['waiting', 'delayed']);
    expect(pending.filter((j) => j.data.stream === 'accounts')).toHaveLength(1);
    expect(pending.filter((j) => j.data.stream === 'cases')).toHaveLength(0);

    // Schedulers that are not the hub's (no sync: prefix) are left alone.
    await queue.upsertJobScheduler('someone-else', { every: 60_000 });
    expect((await applySchedules(queue, [])).removed).toEqual(['sync:crm/accounts']);
    expect((await queue.getJobSchedulers()).map((s) => s.key)).toEqual(['someone-else']);
  });

  it('produces jobs on schedule', async () => {
    await applySchedules(queue, [{ connector: 'crm', stream: 'accounts', spec: { every: 1000 } }]);
    const seen: SyncJobData[] = [];
    workers.push(new Worker<SyncJobData>(SYNC_QUEUE, async (job) => { seen.push(job.data); }, { connection: workerConnection(), prefix }));
    await eventually(async () => seen.length >= 2, 10_000, 'two scheduled runs');
    expect(seen[0]).toEqual({ connector: 'crm', stream: 'accounts', full: false, trigger: 'schedule' });
  });
});

describe('manual runs', () => {
  it('are deduplicated per stream while queued: the second request gets the first job', async () => {
    const first = await enqueueSync(queue, { connector: 'crm', stream: 'accounts', full: true, trigger: 'api' });
    const second = await enqueueSync(queue, { connector: 'crm', stream: 'accounts', full: false, trigger: 'api' });
    const other = await enqueueSync(queue, { connector: 'crm', stream: 'cases', full: false, trigger: 'api' });
    expect(first.deduplicated).toBe(false);
    expect(second).toEqual({ jobId: first.jobId, connector: 'crm', stream: 'accounts', full: true, deduplicated: true });
    expect(other.deduplicated).toBe(false);
    expect(other.jobId).not.toBe(first.jobId);
    expect(await queue.getWaitingCount()).toBe(2);
  });

  it('stay deduplicated while the run is active, and are accepted again once it finished (completed or failed)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let fail = false;
    const started: string[] = [];
    workers.push(new Worker<SyncJobData>(SYNC_QUEUE, async (job: Job<SyncJobData>) => {
      started.push(job.id!);
      await gate;
      if (fail) throw new Error('vendor down');
    }, { connection: workerConnection(), prefix }));

    const a = await enqueueSync(queue, { connector: 'crm', stream: 'accounts', full: false, trigger: 'api' });
    await eventually(async () => started.includes(a.jobId), 5000, 'job active');
    const during = await enqueueSync(queue, { connector: 'crm', stream: 'accounts', full: false, trigger: 'api' });
    expect(during).toMatchObject({ jobId: a.jobId, deduplicated: true });
    release();
    await eventually(async () => (await queue.getJobState(a.jobId)) === 'completed', 5000, 'job completed');

    fail = true;
    const b = await enqueueSync(queue, { connector: 'crm', stream: 'accounts', full: false, trigger: 'api' });
    expect(b.deduplicated).toBe(false);
    expect(b.jobId).not.toBe(a.jobId);
    // A failed attempt with retries left keeps the stream deduplicated (the job is still going to run) ...
    await eventually(async () => (await queue.getJob(b.jobId))?.attemptsMade === 1, 5000, 'first attempt failed');
    expect(await queue.getJobState(b.jobId)).toBe('delayed');
    expect(await enqueueSync(queue, { connector: 'crm', stream: 'accounts', full: false, trigger: 'api' })).toMatchObject({ jobId: b.jobId, deduplicated: true });
    // ... a finally failed job keeps its error but frees the stream for the next request.
    await eventually(async () => {
      const state = await queue.getJobState(b.jobId);
      if (state === 'delayed') await (await queue.getJob(b.jobId))!.promote().catch(() => undefined); // skip the backoff wait
      return state === 'failed';
    }, 20_000, 'job failed after its last attempt');
    const failedJob = (await queue.getJob(b.jobId))!;
    expect(failedJob.failedReason).toBe('vendor down');
    expect(failedJob.attemptsMade).toBe(SYNC_JOB_OPTIONS.attempts);
    await Promise.all(workers.splice(0).map((w) => w.close())); // nothing may take the next job
    const c = await enqueueSync(queue, { connector: 'crm', stream: 'accounts', full: false, trigger: 'api' });
    expect(c.deduplicated).toBe(false);
  }, 40_000);
});

