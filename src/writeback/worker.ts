/**
 * The write-back worker: applies `junction-writeback` jobs through the connector's write
 * operation, records every outcome on the outbox row and the applied keys in the ledger.
 *
 * Per job, in order:
 * 1. Pick the row (batched with the other jobs picked at the same time: statements.ts; already
 *    final = a repeated run: done). An earlier write to the same target record still open → wait
 *    (delayed with backoff, not an attempt, the row left as it is; woken when that write is
 *    final): writes to one record apply in id order.
 *    A newer write already applied to a `latest` target, or on its way to it (picked, still open:
 *    an older row retried by an admin) → SKIPPED as stale. Key in the ledger →
 *    APPLIED (duplicate run).
 * 2. Connector not configured / no such operation / credentials refused → wait and retry later
 *    (not an attempt), never drop; DEAD only after `maxWaitMs`.
 * 3. Outbound mapping → vendor payload; a mapping that fails for this ticket → DEAD with the reason.
 * 4. Write with idempotency key `junction-wb-<outbox id>` (the connector looks for the key first
 *    unless this is the row's first pick and the job's first start: nothing can have written it).
 *    A conflict (target changed since Junction saw it) → survivorship (conflict.ts).
 * 5. Errors: 429 → delayed by Retry-After (not an attempt); no answer at all (refused, reset:
 *    the system is unreachable) → delayed with backoff, not an attempt; other 4xx →
 *    UnrecoverableError → DEAD with the vendor's message; 5xx and timeouts → BullMQ retries with
 *    exponential backoff and jitter; the last attempt's failure → DEAD.
 */
import { DelayedError, Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ConnectorError, isConnectorError } from '../connectors';
import { Pool } from 'pg';
import { logger } from '../logging/logger';
import { evaluateEither, type MappingEngine } from '../mapping/engine';
import type { ConnectorInstance } from '../sync/pipeline';
import { redisConnection } from '../sync/queue';
import type { BatcherOptions } from './batch';
import { junctionWins, raiseConflictIssue } from './conflict';
import { jobIdOf, WRITEBACK_QUEUE, WritebackJobData, WritebackJobResult } from './queue';
import { createWritebackStatements, OutboxJobRow, WritebackStatements } from './statements';
import { loadRoutes, WritebackRoute } from './routing';

/** Row states after which a job has nothing left to do. */
export const FINAL_STATES = ['APPLIED', 'SKIPPED', 'CONFLICT', 'DEAD', 'DISCARDED'];

export const idempotencyKeyOf = (outboxId: string) => `junction-wb-${outboxId}`;

export interface WritebackWorkerDeps {
  orm: MikroORM;
  engine: MappingEngine;
  instances: Map<string, ConnectorInstance>;
  routes?: WritebackRoute[];
  /** Runs before each job (e.g. apply admin-saved mapping versions). */
  prepare?: () => Promise<unknown>;
  /** First wait of a job behind an earlier open write to the same target (default 200 ms); doubles per look, jittered. */
  orderDelayMs?: number;
  /** Longest wait between two looks of a job behind an earlier write (default 60 s). */
  orderMaxDelayMs?: number;
  /** How long a job waits for a misconfigured connector before looking again (default 30 s). */
  misconfiguredDelayMs?: number;
  /** A job that has waited for its connector this long is DEAD (default 7 days). */
  maxWaitMs?: number;
  /** First wait after a connector gave no answer at all (refused, reset); doubles per try (default 1 s). */
  unreachableDelayMs?: number;
  /** Fault-suite negative control only: write without looking for the key first. */
  idempotency?: boolean;
  /** How the worker groups its statements across jobs (batch.ts). */
  batch?: BatcherOptions;
}

export interface WritebackWorkerOptions extends WritebackWorkerDeps {
  connection: Redis | string;
  prefix?: string;
  concurrency?: number;
  /** BullMQ lock (a job whose worker died is taken again after it lapses). Default 30 s. */
  lockDuration?: number;
  stalledInterval?: number;
  autorun?: boolean;
}


const WAITING_CODES = new Set(['CONNECTOR_MISCONFIGURED', 'CONNECTOR_AUTH_FAILED']);

function errorJson(e: unknown): Record<string, unknown> {
  if (e instanceof ConnectorError) return e.toJSON();
  if (e instanceof Error) return { name: e.name, message: e.message, ...((e as { code?: unknown }).code ? { code: (e as { code?: unknown }).code } : {}) };
  return { message: String(e) };
}

/**
 * The worker's statements go straight to a pg pool of its own (statements.ts): MikroORM/knex cost
 * about half a millisecond of CPU per statement, which bounded the worker's jobs/s.
 */
export function createWritebackPool(orm: MikroORM, max = 10): Pool {
  // synchronous_commit off: a status lost in a database crash only makes the job run again, and a
  // rerun finds its key at the target (or in the ledger), so no WAL flush is awaited per job.
  const pool = new Pool({ connectionString: orm.config.get('clientUrl') as string, max, application_name: 'junction writeback worker', options: '-c synchronous_commit=off' });
  pool.on('error', (e) => logger.warn('write-back database connection problem', { message: e.message }));
  return pool;
}

export function createWritebackProcessor(deps: WritebackWorkerDeps & {
  pool: Pool;
  statements?: WritebackStatements;
  /** Puts the delayed job of this outbox row back to waiting now (it waited for a write now final). */
  wake?: (outboxId: string) => Promise<void>;
}) {
  const routes = new Map((deps.routes ?? loadRoutes()).map((r) => [r.name, r]));
  const orm = deps.orm;
  const statements = deps.statements ?? createWritebackStatements(deps.pool, deps.batch);

  // The next write to the target sits out its backoff otherwise (up to orderMaxDelayMs per link of
  // a chain of writes). Best effort, not awaited: a wake-up lost only leaves it to its next look.
  const wakeNext = (next: string | null) => {
    if (next && deps.wake) void deps.wake(next).catch((e) => logger.warn('write-back wake-up failed', { outboxId: next, message: String(e) }));
  };
  const finish = async (row: OutboxJobRow, status: string, attempts: number, result: Record<string, unknown> | null, error: Record<string, unknown> | null) =>
    wakeNext(await statements.finish({ id: String(row.id), status, attempts, result, error }));

  const retrying = (id: string, attempts: number, error: Record<string, unknown>) => statements.retrying({ id, attempts, error });

  /** Puts the job back for later without using an attempt. */
  const later = async (job: Job, token: string | undefined, ms: number): Promise<never> => {
    await job.moveToDelayed(Date.now() + Math.max(1, Math.round(ms)), token);
    throw new DelayedError();
  };

  return async (job: Job<WritebackJobData, WritebackJobResult>, token?: string): Promise<WritebackJobResult> => {
    const id = job.data.outboxId;
    const key = idempotencyKeyOf(id);
    const attempt = job.attemptsMade + 1;
    const row = await statements.pick(id, key);
    if (!row) return { status: 'GONE', skipped: `outbox row ${id} no longer exists` };
    if (FINAL_STATES.includes(row.status)) return { status: row.status, skipped: `already ${row.status}` };
    if (row.blocker) {
      // The earlier write may wait days for an unreachable connector: look again with backoff
      // (doubling per start of this job, jittered), not 5 times a second per blocked job.
      const wait = Math.min(deps.orderMaxDelayMs ?? 60_000, (deps.orderDelayMs ?? 200) * 2 ** Math.min(20, (job.attemptsStarted ?? 1) - 1)) * (0.5 + Math.random() / 2);
      return later(job, token, wait);
    }
    const route = routes.get(row.route);
    // Writes without a ticket (Excel pushes) are documents: each is delivered, in order, never stale.
    const latest = (route?.ordering ?? (row.ticket_id ? 'latest' : 'append')) === 'latest';
    if (latest && row.newer) {
      await finish(row, 'SKIPPED', attempt, { stale: true, newerApplied: String(row.newer) }, null);
      logger.info('write-back skipped as stale', { outboxId: id, newer: row.newer, target: row.target_key });
      return { status: 'SKIPPED', skipped: `stale: write-back ${row.newer} to the same target was applied after it` };
    }
    // A newer write already on its way (an older row retried by an admin): written now, this one
    // could land after it and leave the older value. Waiting for it could deadlock (should it fail
    // and retry, it waits for this older open row), so the older one is stale now.
    if (latest && row.newer_open) {
      await finish(row, 'SKIPPED', attempt, { stale: true, newerInFlight: String(row.newer_open) }, null);
      logger.info('write-back skipped as stale', { outboxId: id, newerInFlight: row.newer_open, target: row.target_key });
      return { status: 'SKIPPED', skipped: `stale: write-back ${row.newer_open} to the same target is on its way after it` };
    }
    if (row.ledger) {
      await finish(row, 'APPLIED', attempt, { duplicate: true, ledger: true }, null);
      return { status: 'APPLIED', duplicate: true };
    }

    const waitForConnector = async (why: Record<string, unknown>): Promise<never> => {
      if (Date.now() - job.timestamp > (deps.maxWaitMs ?? 7 * 86_400_000)) {
        await finish(row, 'DEAD', attempt, null, why);
        throw new UnrecoverableError(String(why.message));
      }
      await retrying(id, attempt - 1, why);
      logger.warn('write-back waits for its connector', { outboxId: id, ...why });
      return later(job, token, deps.misconfiguredDelayMs ?? 30_000);
    };

    const instance = deps.instances.get(row.connector);
    const op = instance?.connector.write?.[row.operation];
    if (!instance || !op) {
      return waitForConnector({
        code: 'CONNECTOR_MISCONFIGURED',
        connector: row.connector,
        message: !instance
          ? `connector ${row.connector} is not configured (junction.config.yaml): write-back ${id} waits for it`
          : `connector ${row.connector} (${instance.type}) has no write operation ${row.operation}: write-back ${id} waits for it`,
      });
    }

    await deps.prepare?.();
    let payload: unknown;
    try {
      const mapping = deps.engine.get(`${row.mapping}.out`);
      const bindings = { idempotencyKey: key, outboxId: id, connector: row.connector };
      // The synchronous fast path skips jsonata's promise chain; only a record it hands on waits.
      const either = evaluateEither(mapping, row.payload, bindings);
      payload = either instanceof Promise ? await either : either;
    } catch (e) {
      const error = { ...errorJson(e), message: `outbound mapping ${row.mapping}.out failed for ${row.ticket_number ? `ticket ${row.ticket_number}` : row.origin}: ${e instanceof Error ? e.message : String(e)}` };
      await finish(row, 'DEAD', attempt, null, error);
      throw new UnrecoverableError(String(error.message));
    }

    const target = row.payload.target ?? {};
    // The look-up at the target (an API call) is needed only where an earlier attempt may have
    // written: a retry, a job taken again after its worker died, a row picked before. Missing
    // one would take both the row's pickup (PostgreSQL) and the job's start count (Redis) lost.
    const firstTry = row.first_pick && job.attemptsMade === 0 && (job.attemptsStarted ?? 1) <= 1;
    const ctx = {
      idempotencyKey: key, targetId: target.externalId, targetVersion: target.version ?? null, lookupFirst: deps.idempotency !== false && !firstTry,
      // retryWriteBack(force: true): a person decided Junction's value wins over the target's change
      force: (row.payload as { force?: unknown }).force === true,
    };
    try {
      let result = await op(payload, ctx);
      let forced: Record<string, unknown> | null = null;
      if (result.conflict) {
        const field = route?.conflict?.field ?? null;
        const junctionValue = field && payload && typeof payload === 'object' ? (payload as Record<string, unknown>)[field] : payload;
        const targetValue = field ? result.conflict.current[field] : result.conflict.current;
        if (junctionWins(route, row.connector)) {
          forced = { field, junctionValue, targetValue, targetVersion: result.conflict.version ?? null };
          result = await op(payload, { ...ctx, force: true });
        } else {
          // The data issue hangs on the ticket; a write without one (Excel push) shows CONFLICT on its row only.
          if (row.ticket_id) await raiseConflictIssue(orm, {
            outboxId: id, ticketId: String(row.ticket_id), ticketNumber: row.ticket_number!, connector: row.connector, route: row.route,
            targetKey: row.target_key, targetId: target.externalId ?? null, field, junctionValue, targetValue,
            seenVersion: target.version ?? null, targetVersion: result.conflict.version ?? null,
          });
          await finish(row, 'CONFLICT', attempt, { conflict: result.conflict }, { code: 'WRITEBACK_CONFLICT', message: `${row.connector} changed since Junction saw it; a data issue asks a person` });
          return { status: 'CONFLICT' };
        }
      }
      // Row and ledger in one statement: atomic without a BEGIN/COMMIT round trip each.
      wakeNext(await statements.applied({
        id, attempts: attempt, result: { ...result, ...(forced ? { overwroteConflict: forced } : {}) },
        key, connector: row.connector, target_key: row.target_key, external_id: result.externalId ?? null, version: result.version ?? null, duplicate: !!result.duplicate,
      }));
      return { status: 'APPLIED', duplicate: !!result.duplicate };
    } catch (e) {
      if (e instanceof DelayedError || e instanceof UnrecoverableError) throw e;
      const error = errorJson(e);
      if (isConnectorError(e)) {
        if (e.code === 'CONNECTOR_RATE_LIMITED') {
          // Not the job's fault: come back when the vendor says, without using an attempt.
          const wait = e.retryAfterMs ?? Math.min(60_000, 1000 * 2 ** job.attemptsMade) * (0.5 + Math.random() / 2);
          await retrying(id, attempt - 1, { ...error, retryInMs: Math.round(wait) });
          return later(job, token, wait);
        }
        if (WAITING_CODES.has(e.code)) return waitForConnector(error);
        if (e.code === 'CONNECTOR_UNAVAILABLE' && e.status === undefined) {
          // No HTTP answer at all (refused, reset, DNS): the system is unreachable, not this write
          // at fault. Wait with backoff (1 s doubling to 5 min, jittered), no attempt used, until
          // maxWaitMs; the look-up on the next try covers a write that landed before the reset.
          if (Date.now() - job.timestamp > (deps.maxWaitMs ?? 7 * 86_400_000)) {
            await finish(row, 'DEAD', attempt, null, error);
            throw new UnrecoverableError(`${row.connector} unreachable since write-back ${id} was queued: ${e.message}`);
          }
          const wait = Math.min(300_000, (deps.unreachableDelayMs ?? 1000) * 2 ** Math.min(20, (job.attemptsStarted ?? 1) - 1)) * (0.5 + Math.random() / 2);
          await retrying(id, attempt - 1, { ...error, retryInMs: Math.round(wait) });
          return later(job, token, wait);
        }
        if (e.code === 'CONNECTOR_REQUEST_REJECTED' || e.code === 'CONNECTOR_CONFLICT') {
          await finish(row, 'DEAD', attempt, null, error);
          throw new UnrecoverableError(`${row.connector} refused write-back ${id}: ${e.message}`);
        }
      }
      const final = attempt >= (job.opts.attempts ?? 1);
      if (final) await finish(row, 'DEAD', attempt, null, error);
      else await retrying(id, attempt, error);
      throw e;
    }
  };
}

export interface WritebackWorker {
  worker: Worker<WritebackJobData, WritebackJobResult>;
  /** Batched statements sent so far (how many jobs shared each). */
  statements: WritebackStatements;
  close(): Promise<void>;
}

export function startWritebackWorker(opts: WritebackWorkerOptions): WritebackWorker {
  const connection = typeof opts.connection === 'string' ? redisConnection(opts.connection) : opts.connection;
  const pool = createWritebackPool(opts.orm, Math.min(20, Math.max(2, Math.ceil((opts.concurrency ?? 16) / 4))));
  const statements = createWritebackStatements(pool, opts.batch);
  // Only a job still in the delayed set moves (promote answers -3 otherwise: running, waiting, gone).
  const wake = async (outboxId: string) => {
    const job = await Job.fromId<WritebackJobData, WritebackJobResult>(worker, jobIdOf(outboxId));
    await job?.promote().catch(() => undefined);
  };
  const worker: Worker<WritebackJobData, WritebackJobResult> = new Worker<WritebackJobData, WritebackJobResult>(WRITEBACK_QUEUE, createWritebackProcessor({ ...opts, pool, statements, wake }), {
    connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? 16,
    autorun: opts.autorun ?? true,
    lockDuration: opts.lockDuration ?? 30_000,
    stalledInterval: opts.stalledInterval ?? opts.lockDuration ?? 30_000,
    // A job whose worker died is taken again; the ledger and the look-up make the rerun harmless.
    maxStalledCount: 10,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn(final ? 'write-back dead' : 'write-back failed, will retry', { jobId: job.id, outboxId: job.data.outboxId, connector: job.data.connector, attempt: job.attemptsMade, message: err.message });
  });
  worker.on('error', (e) => logger.error('write-back worker error', { message: e.message }));
  return {
    worker,
    statements,
    async close() {
      await worker.close();
      await pool.end();
      if (typeof opts.connection === 'string') await connection.quit().catch(() => connection.disconnect());
    },
  };
}
