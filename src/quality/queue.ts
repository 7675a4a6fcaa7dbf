/**
 * The data checks in the worker: a BullMQ queue `junction-checks` whose jobs run every rule
 * (QualityRunner), fed two ways —
 * - after each sync run: `requestChecksAfterSync` adds a job debounced for `debounceMs`; a burst
 *   of syncs gives one run, whose trigger (and resolved_by of what it closes) names the latest
 *   sync (BullMQ deduplication in debounce mode: replace + extend);
 * - on the schedule in mappings/quality/rules.json (`schedule`), a Job Scheduler with id
 *   `checks:schedule`, removed when the file has no schedule.
 * Each rule takes an advisory lock for its transaction, so runs in several workers never
 * interleave on one rule.
 */
import { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { logger } from '../logging/logger';
import type { ScheduleSpec } from '../sync/schedule';
import type { QualityRunner, QualityRunResult } from './runner';

export const CHECKS_QUEUE = 'junction-checks';
export const CHECKS_JOB = 'checks';
export const CHECKS_SCHEDULER_ID = 'checks:schedule';
const AFTER_SYNC_DEDUP_ID = 'checks:after-sync';

export interface ChecksJobData {
  /** `sync:<connector>/<stream> run <n>`, `schedule`. */
  trigger: string;
}

export type ChecksQueue = Queue<ChecksJobData, Pick<QualityRunResult, 'runId' | 'status'>, string>;

const JOB_OPTIONS = { removeOnComplete: { age: 7 * 86_400, count: 1_000 }, removeOnFail: { age: 30 * 86_400, count: 1_000 }, attempts: 3, backoff: { type: 'exponential', delay: 30_000 } };

export function createChecksQueue(opts: { connection: Redis; prefix?: string }): ChecksQueue {
  const queue: ChecksQueue = new Queue(CHECKS_QUEUE, { connection: opts.connection, prefix: opts.prefix, defaultJobOptions: JOB_OPTIONS });
  queue.on('error', (e) => logger.warn('checks queue error', { message: e.message }));
  return queue;
}

/** Makes Redis hold the schedule of the rules file (or none). */
export async function applyChecksSchedule(queue: ChecksQueue, spec: ScheduleSpec | null): Promise<void> {
  if (!spec) {
    await queue.removeJobScheduler(CHECKS_SCHEDULER_ID);
    return;
  }
  const repeat = spec.every !== undefined ? { every: spec.every } : { pattern: spec.pattern, ...(spec.tz ? { tz: spec.tz } : {}) };
  await queue.upsertJobScheduler(CHECKS_SCHEDULER_ID, repeat, { name: CHECKS_JOB, data: { trigger: 'schedule' } });
}

export async function requestChecksAfterSync(queue: ChecksQueue, trigger: string, debounceMs = 5_000): Promise<string> {
  const job = await queue.add(CHECKS_JOB, { trigger }, {
    delay: debounceMs,
    deduplication: { id: AFTER_SYNC_DEDUP_ID, ttl: debounceMs, extend: true, replace: true },
  });
  return job.id!;
}

export function startChecksWorker(opts: { connection: Redis; prefix?: string; runner: QualityRunner; autorun?: boolean }): Worker<ChecksJobData> {
  const worker = new Worker<ChecksJobData>(CHECKS_QUEUE, async (job: Job<ChecksJobData>) => {
    const result = await opts.runner.run({ trigger: job.data.trigger });
    return { runId: result.runId, status: result.status };
  }, { connection: opts.connection, prefix: opts.prefix, concurrency: 1, autorun: opts.autorun ?? true, lockDuration: 120_000 });
  worker.on('failed', (job, err) => logger.warn('data checks job failed', { jobId: job?.id, trigger: job?.data.trigger, message: err.message }));
  worker.on('error', (e) => logger.error('checks worker error', { message: e.message }));
  return worker;
}
