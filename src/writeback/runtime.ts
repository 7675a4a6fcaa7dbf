/**
 * The write-back half of `junction worker`: the outbox relay and the write-back worker, sharing
 * one Redis connection and the worker's connector instances.
 */
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { MappingEngine } from '../mapping/engine';
import type { ConnectorInstance } from '../sync/pipeline';
import { createWritebackQueue, WritebackQueue } from './queue';
import { OutboxRelay, RelayOptions } from './relay';
import { startWritebackWorker, WritebackWorker, WritebackWorkerOptions } from './worker';

export interface WritebackRuntimeOptions {
  orm: MikroORM;
  engine: MappingEngine;
  instances: Map<string, ConnectorInstance>;
  connection: Redis;
  prefix?: string;
  concurrency?: number;
  /** Run the relay in this process (default true). */
  relay?: boolean;
  /** Run the worker in this process (default true). */
  worker?: boolean;
  prepare?: () => Promise<unknown>;
  jobOptions?: JobsOptions;
  relayOptions?: Partial<RelayOptions>;
  workerOptions?: Partial<WritebackWorkerOptions>;
}

export interface WritebackRuntime {
  queue: WritebackQueue;
  relay: OutboxRelay | null;
  worker: WritebackWorker | null;
  close(): Promise<void>;
}

export async function startWritebackRuntime(opts: WritebackRuntimeOptions): Promise<WritebackRuntime> {
  const queue = createWritebackQueue(opts.connection, opts.prefix, opts.jobOptions);
  const worker = opts.worker === false ? null : startWritebackWorker({
    connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency, orm: opts.orm, engine: opts.engine,
    instances: opts.instances, prepare: opts.prepare, ...opts.workerOptions,
  });
  let relay: OutboxRelay | null = null;
  if (opts.relay !== false) {
    relay = new OutboxRelay({ orm: opts.orm, queue, ...opts.relayOptions });
    await relay.start();
  }
  return {
    queue,
    relay,
    worker,
    async close() {
      await relay?.close();
      await worker?.close();
      await queue.close();
    },
  };
}
