/**
 * The `junction-writeback` BullMQ queue: one job per outbox row, job id `wb-<outbox id>` (BullMQ
 * refuses integer custom ids), so relaying a row twice never makes two jobs while the first is
 * kept. Retries belong to BullMQ: exponential backoff with jitter; 429s and waiting for a
 * misconfigured connector are delayed retries that do not count as attempts (see worker.ts).
 */
import { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { logger } from '../logging/logger';
import { redisConnection } from '../sync/queue';

export const WRITEBACK_QUEUE = 'junction-writeback';
export const WRITEBACK_JOB = 'writeback';

export interface WritebackJobData {
  outboxId: string;
  connector: string;
}

export interface WritebackJobResult {
  status: string;
  duplicate?: boolean;
  skipped?: string;
}

export type WritebackQueue = Queue<WritebackJobData, WritebackJobResult, string>;

export const jobIdOf = (outboxId: string | number) => `wb-${outboxId}`;

/** attempts and first backoff from JUNCTION_WRITEBACK_ATTEMPTS / JUNCTION_WRITEBACK_BACKOFF_MS. */
export function writebackJobOptions(env: NodeJS.ProcessEnv = process.env): JobsOptions {
  const attempts = Number(env.JUNCTION_WRITEBACK_ATTEMPTS || 10);
  const delay = Number(env.JUNCTION_WRITEBACK_BACKOFF_MS || 1000);
  return {
    attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : 10,
    // 1 s, 2 s, 4 s ... each drawn from its upper half (jitter 0.5) so retries of many jobs spread out.
    backoff: { type: 'exponential', delay: Number.isFinite(delay) && delay >= 0 ? delay : 1000, jitter: 0.5 },
    // The durable record is the outbox row; finished jobs are kept a while for Bull Board.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 30 * 86_400, count: 50_000 },
  };
}

export function createWritebackQueue(connection: Redis | string, prefix?: string, jobOptions: JobsOptions = {}): WritebackQueue {
  const conn = typeof connection === 'string' ? redisConnection(connection) : connection;
  const queue: WritebackQueue = new Queue(WRITEBACK_QUEUE, { connection: conn, prefix, defaultJobOptions: { ...writebackJobOptions(), ...jobOptions } });
  queue.on('error', (e) => logger.warn('write-back queue error', { message: e.message }));
  if (typeof connection === 'string') {
    const close = queue.close.bind(queue);
    queue.close = async () => {
      await close();
      await conn.quit().catch(() => conn.disconnect());
    };
  }
  return queue;
}
