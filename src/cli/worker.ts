/**
 * `junction worker`: processes the `junction-sync` queue and keeps the stream schedules in Redis
 * matching junction.config.yaml; relays the write-back outbox and applies `junction-writeback` jobs. Scale out by starting more workers (all with the same config);
 * a stream never runs twice at once whatever the number of workers (advisory lock per stream).
 */
import type { Command } from 'commander';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import { loadConfig } from '../config';
import { openOrm } from '../db/orm';
import { MappingEngine } from '../mapping/engine';
import { MappingStore } from '../mapping/store';
import { closeInstances, loadSyncSetup, SyncSetup } from '../sync/instances';
import { SyncPipeline } from '../sync/pipeline';
import { AppliedSchedules, applySchedules, createSyncQueue, redisConnection, SyncQueue, SYNC_QUEUE } from '../sync/queue';
import { describeSchedule } from '../sync/schedule';
import { startSyncWorker, SyncWorker } from '../sync/worker';
import { applyChecksSchedule, ChecksQueue, createChecksQueue, requestChecksAfterSync, startChecksWorker } from '../quality/queue';
import { loadRules } from '../quality/rules';
import { QualityRunner } from '../quality/runner';
import { WRITEBACK_QUEUE } from '../writeback/queue';
import { startWritebackRuntime, WritebackRuntime } from '../writeback/runtime';
import { onShutdown } from './shutdown';

export interface WorkerRuntimeOptions {
  databaseUrl?: string;
  redisUrl?: string;
  prefix?: string;
  configPath?: string;
  concurrency?: number;
  /** Upsert/remove the stream schedules at start (default true). */
  schedules?: boolean;
  /** Instead of reading the config file (tests). */
  setup?: SyncSetup;
  orm?: MikroORM;
  /** Default: the files under mappings/ (admin-saved versions apply over it either way). */
  engine?: MappingEngine;
  /** The data checks: rules file (default mappings/quality/rules.json); false: no checks in this worker. */
  checks?: { rulesFile?: string; debounceMs?: number } | false;
  /** Run the outbox relay and the write-back worker too (default true). */
  writeback?: boolean;
  /** Write-back jobs this process applies at once (default 16). */
  writebackConcurrency?: number;
}

export interface WorkerRuntime {
  setup: SyncSetup;
  queue: SyncQueue;
  sync: SyncWorker;
  writeback: WritebackRuntime | null;
  applied: AppliedSchedules | null;
  /** The data checks queue (after each sync and on the rules file's schedule); null when switched off. */
  checks: { queue: ChecksQueue; runner: QualityRunner } | null;
  close(): Promise<void>;
}

/** Opens everything a worker needs and starts taking jobs. */
export async function startWorkerRuntime(opts: WorkerRuntimeOptions = {}): Promise<WorkerRuntime> {
  const config = loadConfig();
  const setup = opts.setup ?? loadSyncSetup(opts.configPath ?? config.connectorsConfig);
  const ownOrm = !opts.orm;
  const orm = opts.orm ?? (await openOrm(opts.databaseUrl ?? config.databaseUrl));
  let connection: Redis | null = null;
  let queue: SyncQueue | null = null;
  let checksQueue: ChecksQueue | null = null;
  try {
    const prefix = opts.prefix ?? config.queuePrefix;
    connection = redisConnection(opts.redisUrl ?? config.redisUrl);
    queue = createSyncQueue({ connection, prefix });
    const applied = opts.schedules === false ? null : await applySchedules(queue, setup.schedules);
    // Files are the mapping defaults; admin-saved versions are re-applied before every run.
    const mappings = new MappingStore(orm, opts.engine ?? new MappingEngine());
    const pipeline = new SyncPipeline(orm, mappings.engine, setup.instances);
    // Data checks: a rules file that is refused (e.g. a threshold out of range) stops the start, with its error.
    const checksOpts = opts.checks === false ? null : opts.checks ?? {};
    const runner = checksOpts ? new QualityRunner(orm, loadRules(checksOpts.rulesFile)) : null;
    checksQueue = runner ? createChecksQueue({ connection, prefix }) : null;
    if (runner && checksQueue && opts.schedules !== false) await applyChecksSchedule(checksQueue, runner.rules.schedule);
    const checksWorker = runner ? startChecksWorker({ connection, prefix, runner }) : null;
    const cq = checksQueue;
    const sync = startSyncWorker({
      connection, prefix, concurrency: opts.concurrency, orm, pipeline, instances: setup.instances, prepare: () => mappings.loadActive(),
      afterRun: cq ? (run) => requestChecksAfterSync(cq, `sync:${run.connector}/${run.stream} run ${run.runId}`, checksOpts ? checksOpts.debounceMs : undefined) : undefined,
    });
    const writeback = opts.writeback === false ? null : await startWritebackRuntime({
      orm, engine: mappings.engine, instances: setup.instances, connection, prefix, concurrency: opts.writebackConcurrency, prepare: () => mappings.loadActive(),
    }).catch(async (e) => {
      await sync.close();
      await checksWorker?.close();
      throw e;
    });
    const q = queue;
    const c = connection;
    return {
      setup,
      queue: q,
      sync,
      writeback,
      applied,
      checks: runner && cq ? { queue: cq, runner } : null,
      async close() {
        await writeback?.close();
        await sync.close();
        await checksWorker?.close();
        await cq?.close();
        await q.close();
        await c.quit().catch(() => c.disconnect());
        await closeInstances(setup.instances);
        if (ownOrm) await orm.close(true);
      },
    };
  } catch (e) {
    await checksQueue?.close().catch(() => undefined);
    await queue?.close().catch(() => undefined);
    connection?.disconnect();
    await closeInstances(setup.instances);
    if (ownOrm) await orm.close(true);
    throw e;
  }
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(`Process sync jobs (queue ${SYNC_QUEUE}) and run each stream on its schedule from junction.config.yaml`)
    .option('--concurrency <n>', 'streams this process syncs at once (the same stream never twice)', (v) => Number(v), 2)
    .option('--no-schedules', 'only process queued jobs; leave the schedules in Redis as they are')
    .option('-c, --config <file>', 'connector config file (default: $JUNCTION_CONFIG, else ./junction.config.yaml)')
    .option('--no-writeback', `do not relay the outbox nor apply write-back jobs (queue ${WRITEBACK_QUEUE})`)
    .option('--writeback-concurrency <n>', 'write-back jobs this process applies at once', (v) => Number(v), 16)
    .action(async (opts: { concurrency: number; schedules: boolean; config?: string; writeback: boolean; writebackConcurrency: number }) => {
      if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error('--concurrency must be a positive whole number');
      if (!Number.isInteger(opts.writebackConcurrency) || opts.writebackConcurrency < 1) throw new Error('--writeback-concurrency must be a positive whole number');
      const runtime = await startWorkerRuntime({
        concurrency: opts.concurrency, schedules: opts.schedules, configPath: opts.config, writeback: opts.writeback, writebackConcurrency: opts.writebackConcurrency,
      });
      onShutdown(() => runtime.close());
      const out = process.stdout;
      out.write(`junction worker: ${runtime.setup.instances.size} connector(s) from ${runtime.setup.source}, concurrency ${opts.concurrency}\n`);
      if (runtime.applied) {
        for (const s of runtime.setup.schedules) out.write(`junction worker:   ${s.connector}/${s.stream}: ${describeSchedule(s.spec)}\n`);
        if (runtime.applied.removed.length) out.write(`junction worker: removed schedules no longer configured: ${runtime.applied.removed.join(', ')}\n`);
      } else out.write('junction worker: schedules left unchanged (--no-schedules)\n');
      out.write(`junction worker: waiting for jobs on ${SYNC_QUEUE}${runtime.writeback ? ` and ${WRITEBACK_QUEUE} (outbox relay running, concurrency ${opts.writebackConcurrency})` : ''}\n`);
    });
}
