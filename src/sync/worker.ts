/**
 * The sync worker: takes jobs from `junction-sync` and runs them through the SyncPipeline.
 *
 * Per job: check the stream still exists (config may have changed since it was queued: that is
 * an UnrecoverableError, no retry), take the stream's advisory lock, run, release. If another run
 * of the stream holds the lock (another worker, or a `junction sync` from a shell):
 *   - a scheduled job completes as skipped: the run in progress covers it, the next tick comes;
 *   - a manual job is put back as delayed (`busyDelayMs`, not counted as an attempt) and tries
 *     again, so a requested full read is never lost; after `maxBusyWaitMs` it fails.
 * A run whose pipeline result is FAILED throws, so BullMQ retries it with backoff and keeps the
 * error; PARTIAL (some records failed, see source_record) completes: retrying would not fix them.
 * A run the vendor stopped with a Retry-After too long to sit out in process (CONNECTOR_RATE_LIMITED
 * with retryAfterMs, e.g. Salesforce's daily API limit) is not the stream's fault: a manual job is
 * parked until then without using an attempt (its committed pages keep their cursor, so it resumes
 * there), up to `maxRateLimitWaitMs` after it was queued; a scheduled job completes, since the next
 * tick resumes the stream anyway and parking one job per tick would pile them up.
 * On shutdown, running syncs are aborted (the pipeline stops after the page it is storing; each
 * page is committed with its cursor) and their jobs go back to the queue without using an attempt.
 */
import { DelayedError, Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import { logger } from '../logging/logger';
import { describeUnknown } from './instances';
import { describeHolder, streamLockHolder, tryLockStream } from './lock';
import type { ConnectorInstance, SyncPipeline, SyncProgress } from './pipeline';
import { redisConnection, SYNC_QUEUE, SyncJobData, SyncJobResult } from './queue';

export interface SyncWorkerDeps {
  orm: MikroORM;
  pipeline: Pick<SyncPipeline, 'runStream'>;
  instances: Map<string, ConnectorInstance>;
  /** How long a manual job waits before trying a busy stream again (default 30 s). */
  busyDelayMs?: number;
  /** A manual job that has found its stream busy for this long fails (default 6 h). */
  maxBusyWaitMs?: number;
  /** A manual job parked by vendor rate limits for this long since queued retries as a failure instead (default 48 h). */
  maxRateLimitWaitMs?: number;
  /** application_name of the lock connections (default `junction worker`). */
  holder?: string;
  /** Runs before each sync, holding the stream's lock (e.g. apply admin-saved mapping versions). */
  prepare?: () => Promise<unknown>;
  /** Runs after a run that did not fail (e.g. queue the data checks); its errors are logged, never fail the job. */
  afterRun?: (run: { connector: string; stream: string; runId: string; status: string }) => Promise<unknown>;
}

export interface SyncWorkerOptions extends SyncWorkerDeps {
  /** A connection to share (must have maxRetriesPerRequest: null), or a URL. */
  connection: Redis | string;
  prefix?: string;
  /** Jobs (streams) this process runs at once; the same stream never runs twice (default 2). */
  concurrency?: number;
  /** Start taking jobs at once (default true). */
  autorun?: boolean;
}

export interface SyncWorker {
  worker: Worker<SyncJobData, SyncJobResult>;
  /** Aborts running syncs (they are re-queued), waits for them to stop, closes the worker. */
  close(): Promise<void>;
}

/** Progress goes to the job (visible in BullMQ tooling) at most this often. */
const PROGRESS_EVERY_MS = 1000;

/** The job handler; exported so tests can drive it with real jobs. */
export function createSyncProcessor(deps: SyncWorkerDeps, shutdown: AbortSignal = new AbortController().signal) {
  const busyDelayMs = deps.busyDelayMs ?? 30_000;
  const maxBusyWaitMs = deps.maxBusyWaitMs ?? 6 * 3_600_000;
  const maxRateLimitWaitMs = deps.maxRateLimitWaitMs ?? 48 * 3_600_000;
  return async (job: Job<SyncJobData, SyncJobResult>, token?: string, cancel?: AbortSignal): Promise<SyncJobResult> => {
    const { connector, stream, full, trigger } = job.data;
    const unknown = describeUnknown(deps.instances, connector, stream);
    if (unknown) throw new UnrecoverableError(`${unknown.message}: the config changed since this job was queued`);

    const lock = await tryLockStream(deps.orm, connector, stream, { holder: deps.holder ?? 'junction worker' });
    if (!lock) {
      const holder = describeHolder(await streamLockHolder(deps.orm, connector, stream).catch(() => null));
      if (trigger === 'schedule') {
        logger.info('sync skipped: stream busy', { connector, stream, jobId: job.id, holder });
        return { skipped: `${connector}/${stream} was already being synced by ${holder}` };
      }
      if (Date.now() - job.timestamp > maxBusyWaitMs) {
        throw new UnrecoverableError(`${connector}/${stream} has been busy (held by ${holder}) since this job was queued; giving up`);
      }
      logger.info('sync waits: stream busy', { connector, stream, jobId: job.id, holder, retryInMs: busyDelayMs });
      await job.moveToDelayed(Date.now() + busyDelayMs, token);
      throw new DelayedError();
    }

    const signals = [lock.signal, shutdown, ...(cancel ? [cancel] : [])];
    const signal = AbortSignal.any(signals);
    let lastProgress = 0;
    try {
      await deps.prepare?.();
      const result = await deps.pipeline.runStream(connector, stream, {
        full,
        trigger,
        signal,
        onProgress: (p: SyncProgress) => {
          const now = Date.now();
          if (now - lastProgress < PROGRESS_EVERY_MS) return;
          lastProgress = now;
          job.updateProgress({ ...p }).catch(() => undefined);
        },
      });
      // Stopped by our own shutdown: not a failure of the stream, run it again elsewhere.
      if (result.status === 'FAILED' && shutdown.aborted) return await requeue(job, token, `worker shut down during run ${result.runId}`);
      const summary: SyncJobResult = {
        runId: result.runId,
        status: result.status,
        fetched: result.fetched,
        unchanged: result.unchanged,
        merged: result.merged,
        failed: result.failed,
        durationMs: result.durationMs,
      };
      if (result.status === 'FAILED' && result.retryAfterMs !== undefined) {
        const wait = { connector, stream, jobId: job.id, runId: result.runId, retryInMs: result.retryAfterMs };
        if (trigger === 'schedule') {
          logger.info('sync rate limited by the vendor: the next scheduled run resumes the stream', wait);
          return { ...summary, rateLimitedForMs: result.retryAfterMs };
        }
        if (Date.now() + result.retryAfterMs - job.timestamp <= maxRateLimitWaitMs) {
          logger.info('sync rate limited by the vendor: job parked until the vendor allows it', wait);
          await job.moveToDelayed(Date.now() + result.retryAfterMs, token);
          throw new DelayedError();
        }
      }
      if (result.status === 'FAILED') {
        throw new Error(`${connector}/${stream} run ${result.runId} failed: ${result.error ?? 'no error message'}`);
      }
      logger.info('sync run finished', { connector, stream, jobId: job.id, ...summary });
      await deps.afterRun?.({ connector, stream, runId: result.runId, status: result.status })
        .catch((e: Error) => logger.warn('after-sync hook failed', { connector, stream, runId: result.runId, message: e.message }));
      return summary;
    } catch (e) {
      if (shutdown.aborted && !(e instanceof DelayedError)) return await requeue(job, token, e instanceof Error ? e.message : String(e));
      throw e;
    } finally {
      await lock.release();
    }
  };
}

/** Puts an interrupted job back (delayed by a second) without using one of its attempts. */
async function requeue(job: Job<SyncJobData, SyncJobResult>, token: string | undefined, why: string): Promise<never> {
  logger.info('sync interrupted, job re-queued', { jobId: job.id, connector: job.data.connector, stream: job.data.stream, why });
  await job.moveToDelayed(Date.now() + 1000, token);
  throw new DelayedError();
}

/** Starts a worker on the sync queue. */
export function startSyncWorker(opts: SyncWorkerOptions): SyncWorker {
  const connection = typeof opts.connection === 'string' ? redisConnection(opts.connection) : opts.connection;
  const shutdown = new AbortController();
  const worker = new Worker<SyncJobData, SyncJobResult>(SYNC_QUEUE, createSyncProcessor(opts, shutdown.signal), {
    connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? 2,
    autorun: opts.autorun ?? true,
    // A sync holds its job for minutes: renew the lock often enough that a busy event loop does
    // not let it lapse (a lapsed lock = the job runs twice; the advisory lock still prevents overlap).
    lockDuration: 60_000,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError;
    logger.warn(final ? 'sync job failed' : 'sync job failed, will retry', { jobId: job.id, connector: job.data.connector, stream: job.data.stream, attempt: job.attemptsMade, message: err.message });
  });
  worker.on('error', (e) => logger.error('sync worker error', { message: e.message }));
  return {
    worker,
    async close() {
      shutdown.abort(new Error('worker shutting down'));
      await worker.close();
      if (typeof opts.connection === 'string') await connection.quit().catch(() => connection.disconnect());
    },
  };
}
