/**
 * The write-back worker: applies `junction-writeback` jobs through the connector's write
 * operation, records every outcome on the outbox row and the applied keys in the ledger.
 *
 * Per job, in order:
 * 1. Load the row (already final = a repeated run: done). An earlier write to the same target
 *    record still open → wait (delayed, not an attempt): writes to one record apply in id order.
 *    A newer write already applied to a `latest` target → SKIPPED as stale. Key in the ledger →
 *    APPLIED (duplicate run).
 * 2. Connector not configured / no such operation / credentials refused → wait and retry later
 *    (not an attempt), never drop; DEAD only after `maxWaitMs`.
 * 3. Outbound mapping → vendor payload; a mapping that fails for this ticket → DEAD with the reason.
 * 4. Write with idempotency key `junction-wb-<outbox id>` (the connector looks for the key first).
 *    A conflict (target changed since Junction saw it) → survivorship (conflict.ts).
 * 5. Errors: 429 → delayed by Retry-After (not an attempt); other 4xx → UnrecoverableError →
 *    DEAD with the vendor's message; 5xx, timeouts, network → BullMQ retries with exponential
 *    backoff and jitter; the last attempt's failure → DEAD.
 */
import { DelayedError, Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ConnectorError, isConnectorError } from '../connectors';
import { sqlOne, sqlRows } from '../db/sql';
import { logger } from '../logging/logger';
import type { MappingEngine } from '../mapping/engine';
import type { ConnectorInstance } from '../sync/pipeline';
import { redisConnection } from '../sync/queue';
import { junctionWins, raiseConflictIssue } from './conflict';
import { WRITEBACK_QUEUE, WritebackJobData, WritebackJobResult } from './queue';
import { loadRoutes, WritebackRoute } from './routes';

/** Row states after which a job has nothing left to do. */
export const FINAL_STATES = ['APPLIED', 'SKIPPED', 'CONFLICT', 'DEAD', 'DISCARDED'];
/** States of a write that has not happened yet (an earlier one of these blocks later writes to its target). */
const OPEN_STATES = ['PENDING', 'QUEUED', 'RETRYING'];

export const idempotencyKeyOf = (outboxId: string) => `junction-wb-${outboxId}`;

export interface WritebackWorkerDeps {
  orm: MikroORM;
  engine: MappingEngine;
  instances: Map<string, ConnectorInstance>;
  routes?: WritebackRoute[];
  /** Runs before each job (e.g. apply admin-saved mapping versions). */
  prepare?: () => Promise<unknown>;
  /** How long a job waits for an earlier write to the same target before looking again (default 200 ms). */
  orderDelayMs?: number;
  /** How long a job waits for a misconfigured connector before looking again (default 30 s). */
  misconfiguredDelayMs?: number;
  /** A job that has waited for its connector this long is DEAD (default 7 days). */
  maxWaitMs?: number;
  /** Fault-suite negative control only: write without looking for the key first. */
  idempotency?: boolean;
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

interface OutboxJobRow {
  id: string;
  /** null for writes not tied to a ticket (an Excel push: see origin). */
  ticket_id: string | null;
  ticket_number: string | null;
  origin: string | null;
  route: string;
  connector: string;
  operation: string;
  mapping: string;
  target_key: string;
  payload: { target?: { externalId?: string; version?: string | null } } & Record<string, unknown>;
  status: string;
  blocker: string | null;
  newer: string | null;
  ledger: boolean;
}

const WAITING_CODES = new Set(['CONNECTOR_MISCONFIGURED', 'CONNECTOR_AUTH_FAILED']);

function errorJson(e: unknown): Record<string, unknown> {
  if (e instanceof ConnectorError) return e.toJSON();
  if (e instanceof Error) return { name: e.name, message: e.message, ...((e as { code?: unknown }).code ? { code: (e as { code?: unknown }).code } : {}) };
  return { message: String(e) };
}

export function createWritebackProcessor(deps: WritebackWorkerDeps) {
  const routes = new Map((deps.routes ?? loadRoutes()).map((r) => [r.name, r]));
  const orm = deps.orm;

  const finish = async (row: OutboxJobRow, status: string, attempts: number, result: Record<string, unknown> | null, error: Record<string, unknown> | null) => {
    await sqlRows(orm,
      `update writeback_outbox set status = ?, attempts = ?, result = ?::jsonb, last_error = coalesce(?::jsonb, last_error), finished_at = clock_timestamp()
        where id = ? and status not in ('APPLIED', 'DISCARDED')`,
      [status, attempts, result ? JSON.stringify(result) : null, error ? JSON.stringify(error) : null, row.id]);
  };

  const retrying = (id: string, attempts: number, error: Record<string, unknown>) =>
    sqlRows(orm, `update writeback_outbox set status = 'RETRYING', attempts = ?, last_error = ?::jsonb where id = ? and status in ('QUEUED', 'RETRYING', 'PENDING')`,
      [attempts, JSON.stringify(error), id]);

  /** Puts the job back for later without using an attempt. */
  const later = async (job: Job, token: string | undefined, ms: number): Promise<never> => {
    await job.moveToDelayed(Date.now() + Math.max(1, Math.round(ms)), token);
    throw new DelayedError();
  };

  return async (job: Job<WritebackJobData, WritebackJobResult>, token?: string): Promise<WritebackJobResult> => {
    const id = job.data.outboxId;
    const key = idempotencyKeyOf(id);
    const attempt = job.attemptsMade + 1;
    const row = await sqlOne<OutboxJobRow>(orm,
      `update writeback_outbox o set picked_at = coalesce(o.picked_at, clock_timestamp())
        where o.id = ?
        returning o.id, o.ticket_id, o.ticket_number, o.origin, o.route, o.connector, o.operation, o.mapping, o.target_key, o.payload, o.status,
          (select p.id from writeback_outbox p where p.target_key = o.target_key and p.id < o.id and p.status = any(?::text[]) order by p.id desc limit 1) as blocker,
          (select max(a.id) from writeback_outbox a where a.target_key = o.target_key and a.id > o.id and a.status = 'APPLIED') as newer,
          exists (select 1 from writeback_applied l where l.idempotency_key = ?) as ledger`,
      [id, `{${OPEN_STATES.join(',')}}`, key]);
    if (!row) return { status: 'GONE', skipped: `outbox row ${id} no longer exists` };
    if (FINAL_STATES.includes(row.status)) return { status: row.status, skipped: `already ${row.status}` };
    if (row.blocker) return later(job, token, deps.orderDelayMs ?? 200);
    const route = routes.get(row.route);
    // Writes without a ticket (Excel pushes) are documents: each is delivered, in order, never stale.
    if (row.newer && (route?.ordering ?? (row.ticket_id ? 'latest' : 'append')) === 'latest') {
      await finish(row, 'SKIPPED', attempt, { stale: true, newerApplied: String(row.newer) }, null);
      logger.info('write-back skipped as stale', { outboxId: id, newer: row.newer, target: row.target_key });
      return { status: 'SKIPPED', skipped: `stale: write-back ${row.newer} to the same target was applied after it` };
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
      payload = await deps.engine.evaluate(`${row.mapping}.out`, row.payload, { idempotencyKey: key, outboxId: id, connector: row.connector });
    } catch (e) {
      const error = { ...errorJson(e), message: `outbound mapping ${row.mapping}.out failed for ${row.ticket_number ? `ticket ${row.ticket_number}` : row.origin}: ${e instanceof Error ? e.message : String(e)}` };
      await finish(row, 'DEAD', attempt, null, error);
      throw new UnrecoverableError(String(error.message));
    }

    const target = row.payload.target ?? {};
    const ctx = {
      idempotencyKey: key, targetId: target.externalId, targetVersion: target.version ?? null, lookupFirst: deps.idempotency !== false,
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
      await orm.em.fork().transactional(async (em) => {
        const conn = em.getConnection();
        const trx = em.getTransactionContext();
        await conn.execute(
          `update writeback_outbox set status = 'APPLIED', attempts = ?, result = ?::jsonb, finished_at = clock_timestamp() where id = ?`,
          [attempt, JSON.stringify({ ...result, ...(forced ? { overwroteConflict: forced } : {}) }), id], 'run', trx);
        await conn.execute(
          `insert into writeback_applied (idempotency_key, outbox_id, connector, target_key, external_id, version, duplicate) values (?, ?, ?, ?, ?, ?, ?)
           on conflict (idempotency_key) do nothing`,
          [key, id, row.connector, row.target_key, result.externalId ?? null, result.version ?? null, !!result.duplicate], 'run', trx);
      });
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
  close(): Promise<void>;
}

export function startWritebackWorker(opts: WritebackWorkerOptions): WritebackWorker {
  const connection = typeof opts.connection === 'string' ? redisConnection(opts.connection) : opts.connection;
  const worker = new Worker<WritebackJobData, WritebackJobResult>(WRITEBACK_QUEUE, createWritebackProcessor(opts), {
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
    async close() {
      await worker.close();
      if (typeof opts.connection === 'string') await connection.quit().catch(() => connection.disconnect());
    },
  };
}
