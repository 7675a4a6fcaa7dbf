/**
 * The `junction-sync` BullMQ queue: one job = one run of one stream.
 *
 * - Manual runs (GraphQL `runSync`, trigger `api`) carry BullMQ's deduplication id
 *   `<connector>/<stream>` (simple mode): while a run of that stream is waiting, delayed,
 *   retrying or active, another request returns the job already there instead of adding one.
 *   Once that job completes or finally fails the id is free again, so the next click runs.
 *   A fixed jobId would not do this: BullMQ keeps finished jobs (failed ones with their
 *   error, on purpose), and `add` with the id of a kept job silently returns the old job, so
 *   after one failure the stream could never be run by hand again until the record expired.
 * - Scheduled runs come from one BullMQ Job Scheduler per stream (`upsertJobScheduler`, the API
 *   BullMQ 5.16+ documents in place of `repeat`); `applySchedules` makes Redis match the config:
 *   upserts every scheduled stream, removes schedulers of streams now off or gone.
 * - Overlap is prevented where the work happens, not here: the worker takes the stream's
 *   PostgreSQL advisory lock (see lock.ts), which a CLI `junction sync` takes too.
 * - Failed runs retry with exponential backoff; BullMQ keeps the failed job and its error for a
 *   while; the durable record is the pipeline's sync_run row.
 */
import { randomUUID } from 'crypto';
import { JobsOptions, Queue } from 'bullmq';
import { Redis, RedisOptions } from 'ioredis';
import { logger } from '../logging/logger';
import { describeSchedule, StreamSchedule } from './schedule';

export const SYNC_QUEUE = 'junction-sync';
/** Job name of every sync job. */
export const SYNC_JOB = 'sync';
/** Job scheduler ids: `sync:<connector>/<stream>`. */
export const SCHEDULER_PREFIX = 'sync:';

export type SyncTrigger = 'cli' | 'schedule' | 'api' | 'demo';

export interface SyncJobData {
  connector: string;
  stream: string;
  /** Re-read the stream from the beginning instead of resuming at the stored cursor. */
  full: boolean;
  trigger: SyncTrigger;
}

export type SyncQueue = Queue<SyncJobData, SyncJobResult, string>;

/** What a finished job returns (job.returnvalue). */
export interface SyncJobResult {
  /** The run did not start: another run of the stream held its lock (scheduled runs only). */
  skipped?: string;
  runId?: string;
  status?: 'SUCCEEDED' | 'PARTIAL' | 'FAILED';
  fetched?: number;
  unchanged?: number;
  merged?: number;
  failed?: number;
  durationMs?: number;
  /** A scheduled run the vendor rate-limited (FAILED, not retried): it asked us back in this many ms. */
  rateLimitedForMs?: number;
}

/** Retries and retention for every sync job (manual and scheduled). */
export const SYNC_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 30_000 },
  removeOnComplete: { age: 7 * 86_400, count: 1_000 },
  // Failed jobs stay longer (with failedReason and stacktrace) for whoever investigates.
  removeOnFail: { age: 30 * 86_400, count: 5_000 },
};

/**
 * A Redis connection for BullMQ. Workers need `maxRetriesPerRequest: null` (BullMQ refuses
 * otherwise): their blocking commands must wait out a Redis restart instead of failing.
 */
export function redisConnection(redisUrl: string, extra: RedisOptions = {}): Redis {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, ...extra });
  redis.on('error', (e) => logger.warn('redis connection problem (sync queue)', { message: e.message }));
  return redis;
}

export interface QueueOptions {
  /** A connection to share, or a URL to open one for this queue (closed with it). */
  connection: Redis | string;
  /** BullMQ key prefix (default `bull`); tests use their own. */
  prefix?: string;
}

export function createSyncQueue(opts: QueueOptions): SyncQueue {
  const connection = typeof opts.connection === 'string' ? redisConnection(opts.connection) : opts.connection;
  const queue: SyncQueue = new Queue(SYNC_QUEUE, {
    connection,
    prefix: opts.prefix,
    defaultJobOptions: SYNC_JOB_OPTIONS,
  });
  queue.on('error', (e) => logger.warn('sync queue error', { message: e.message }));
  if (typeof opts.connection === 'string') {
    // We opened it: close it with the queue (BullMQ does not close connections it was handed).
    const close = queue.close.bind(queue);
    queue.close = async () => {
      await close();
      await connection.quit().catch(() => connection.disconnect());
    };
  }
  return queue;
}

/** `crm/accounts`: the deduplication id of manual runs of a stream. */
export function dedupId(connector: string, stream: string): string {
  return `${connector}/${stream}`;
}

export function schedulerId(connector: string, stream: string): string {
  return `${SCHEDULER_PREFIX}${connector}/${stream}`;
}

export interface EnqueuedSync {
  jobId: string;
  connector: string;
  stream: string;
  /** Whether the job that will run is a full read (a deduplicated request gets the queued job's mode). */
  full: boolean;
  /** True when a run of this stream was already queued or running and that job is returned. */
  deduplicated: boolean;
}

/** Adds a run of one stream (manual: deduplicated per stream, see the top of this file). */
export async function enqueueSync(queue: SyncQueue, data: SyncJobData): Promise<EnqueuedSync> {
  const jobId = randomUUID();
  const job = await queue.add(SYNC_JOB, data, { jobId, deduplication: { id: dedupId(data.connector, data.stream) } });
  const deduplicated = job.id !== jobId;
  let full = data.full;
  if (deduplicated) {
    const existing = await queue.getJob(job.id!);
    full = existing?.data.full ?? full;
  }
  return { jobId: job.id!, connector: data.connector, stream: data.stream, full, deduplicated };
}

export interface AppliedSchedules {
  upserted: string[];
  removed: string[];
}

/**
 * Makes the queue's job schedulers match `schedules`: one per stream whose spec is not null,
 * none for the others (and none left over from streams no longer configured).
 * Idempotent: every worker may call it at start.
 */
export async function applySchedules(queue: SyncQueue, schedules: StreamSchedule[]): Promise<AppliedSchedules> {
  const wanted = new Map<string, StreamSchedule>();
  for (const s of schedules) if (s.spec) wanted.set(schedulerId(s.connector, s.stream), s);
  const upserted: string[] = [];
  for (const [id, s] of wanted) {
    const repeat = s.spec!.every !== undefined ? { every: s.spec!.every } : { pattern: s.spec!.pattern, ...(s.spec!.tz ? { tz: s.spec!.tz } : {}) };
    try {
      await queue.upsertJobScheduler(id, repeat, {
        name: SYNC_JOB,
        data: { connector: s.connector, stream: s.stream, full: false, trigger: 'schedule' },
        opts: SYNC_JOB_OPTIONS,
      });
    } catch (e) {
      throw new Error(`cannot schedule ${s.connector}/${s.stream} (${describeSchedule(s.spec)}): ${e instanceof Error ? e.message : String(e)}`);
    }
    upserted.push(id);
  }
  const removed: string[] = [];
  for (const id of await allSchedulerIds(queue)) {
    if (id.startsWith(SCHEDULER_PREFIX) && !wanted.has(id)) {
      await queue.removeJobScheduler(id);
      removed.push(id);
    }
  }
  if (removed.length) {
    // removeJobScheduler drops the scheduler's delayed next run, not one already waiting: drop that too.
    const gone = new Set(removed);
    for (const job of await queue.getJobs(['waiting', 'prioritized', 'delayed'])) {
      if (job.repeatJobKey && gone.has(job.repeatJobKey)) await job.remove().catch(() => undefined);
    }
  }
  return { upserted, removed };
}

async function allSchedulerIds(queue: SyncQueue): Promise<string[]> {
  const ids: string[] = [];
  const pageSize = 500;
  for (let start = 0; ; start += pageSize) {
    const page = await queue.getJobSchedulers(start, start + pageSize - 1, true);
    for (const s of page) ids.push(s.key);
    if (page.length < pageSize) return ids;
  }
}
