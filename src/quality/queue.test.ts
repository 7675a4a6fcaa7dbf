import type { Redis } from 'ioredis';
import { startWorkerRuntime, WorkerRuntime } from '../cli/worker';
import { sqlOne, sqlRows } from '../db/sql';
import { createSyncQueue, enqueueSync, redisConnection, SyncQueue } from '../sync/queue';
import { useTestDatabase } from '../../tests/support/databases';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL } from '../../tests/support/queues';
import { seedQualityData } from '../../tests/support/quality';
import { gatedSource, GatedSource } from '../../tests/support/sync';
import { CHECKS_SCHEDULER_ID } from './queue';

// Outside the describe, so its ORM is closed only after the describe's afterAll has closed the
// worker runtime that uses it (hooks of one block run in declaration order, so inside it would close first).
const db = useTestDatabase();

/** The worker runs the data checks after each sync (real BullMQ, real PostgreSQL) and keeps their schedule. */
describe('data checks in the worker', () => {
  let source: GatedSource;
  let prefix: string;
  let connection: Redis;
  let queue: SyncQueue;
  let runtime: WorkerRuntime;

  beforeAll(async () => {
    await seedQualityData(db.orm);
    source = gatedSource('src');
    prefix = testQueuePrefix();
    connection = redisConnection(TEST_REDIS_URL);
    queue = createSyncQueue({ connection, prefix });
    runtime = await startWorkerRuntime({
      orm: db.orm, redisUrl: TEST_REDIS_URL, prefix, engine: source.engine, concurrency: 1, checks: { debounceMs: 100 },
      setup: { source: 'test', instances: source.instances, schedules: [] },
    });
  });
  afterAll(async () => {
    await runtime.close();
    await queue.close();
    connection.disconnect();
    await cleanQueuePrefix(prefix);
    source.cleanup();
  });

  const syncOnce = async () => {
    const job = await enqueueSync(queue, { connector: 'src', stream: 'people', full: true, trigger: 'api' });
    const result = await eventually(async () => {
      const j = await queue.getJob(job.jobId);
      return (await j?.getState()) === 'completed' ? j!.returnvalue : undefined;
    }, 15_000, 'the sync job');
    return String(result.runId);
  };
  const checksRunOf = (trigger: string) => eventually(
    () => sqlOne<any>(db.orm, `select status, summary from quality_run where trigger = ? and status <> 'RUNNING'`, [trigger]), 15_000, `checks run "${trigger}"`);

  it('keeps the rules file schedule as a Job Scheduler', async () => {
    expect(await runtime.checks!.queue.getJobScheduler(CHECKS_SCHEDULER_ID)).toMatchObject({ every: 3_600_000 });
  });

  it('runs the checks after a sync, and closes a finding the next sync fixed with that sync as resolved_by', async () => {
    const first = await syncOnce();
    const run = await checksRunOf(`sync:src/people run ${first}`);
    expect(run.status).toBe('SUCCEEDED');
    const fp = 'UNSOLD_DEVICE_REPORTING:device:SN-IOT-UNSOLD';
    expect(await sqlOne<any>(db.orm, `select state from data_issue where fingerprint = ?`, [fp])).toEqual({ state: 'OPEN' });

    // The ERP learns of the device (as a sync of its serials would record): the finding goes away.
    await sqlRows(db.orm, `insert into source_link (system, stream, external_id, entity_type, entity_id)
                        select 'erp', 'serials', 'ERP-SN-IOT-UNSOLD', 'device', id from device where serial = 'SN-IOT-UNSOLD'`);
    const second = await syncOnce();
    await checksRunOf(`sync:src/people run ${second}`);
    expect(await sqlOne<any>(db.orm, `select state, resolved_by from data_issue where fingerprint = ?`, [fp]))
      .toEqual({ state: 'RESOLVED', resolved_by: `sync:src/people run ${second}` });
  });
});
