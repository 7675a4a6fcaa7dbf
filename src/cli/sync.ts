/**
 * `junction sync <connector> [--stream s] [--full] [--remap]`: runs streams now, in this process
 * (not through the queue), one after the other, each under the stream's advisory lock, so it
 * never overlaps a worker's run of the same stream (it waits for it, or with --no-wait gives up).
 *
 * Exit code: 0 when every stream SUCCEEDED, 2 when some records failed (PARTIAL) and nothing
 * FAILED, 1 when a stream FAILED, was busy (--no-wait), or the connector/stream is unknown.
 */
import type { Command } from 'commander';
import type { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../config';
import { openOrm } from '../db/orm';
import { MappingEngine } from '../mapping/engine';
import { MappingStore } from '../mapping/store';
import { loadRules } from '../quality/rules';
import { QualityRunner } from '../quality/runner';
import { closeInstances, describeUnknown, loadSyncSetup, SyncSetup } from '../sync/instances';
import { describeHolder, lockStream, StreamLock, streamLockHolder, tryLockStream } from '../sync/lock';
import { SyncPipeline, SyncProgress, SyncRunResult } from '../sync/pipeline';

export interface SyncCommandOptions {
  stream?: string;
  full?: boolean;
  remap?: boolean;
  /** Connector config file (default: $JUNCTION_CONFIG, else ./junction.config.yaml). */
  config?: string;
  pageSize?: number;
  /** false: give up (exit 1) instead of waiting when another run holds a stream. Default true. */
  wait?: boolean;
  /** false: skip the data checks that run after the streams (`--no-checks`). Default true. */
  checks?: boolean;
}

export interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface SyncCommandIO {
  stdout: Output;
  stderr: Output;
  databaseUrl?: string;
  /** Stops the run after the page being stored (Ctrl-C). */
  signal?: AbortSignal;
  /** Builds instances from a config (tests pass their own registry/clock here). */
  loadSetup?: (configPath?: string) => SyncSetup;
  /** Minimum time between plain (non-TTY) progress lines; default 1000 ms. */
  progressEveryMs?: number;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_PARTIAL = 2;

type Outcome = { stream: string; result: SyncRunResult } | { stream: string; busy: string } | { stream: string; skipped: string };

/** The command's body; returns the exit code. Never calls process.exit. */
export async function runSyncCommand(connector: string, opts: SyncCommandOptions, io: SyncCommandIO): Promise<number> {
  const fail = (message: string) => {
    io.stderr.write(`junction sync: ${message}\n`);
    return EXIT_FAILED;
  };
  if (opts.full && opts.remap) return fail('--full and --remap cannot be combined (--remap re-applies mappings to stored records, it fetches nothing)');
  if (opts.pageSize !== undefined && (!Number.isInteger(opts.pageSize) || opts.pageSize < 1)) return fail('--page-size must be a positive whole number');

  let setup: SyncSetup;
  try {
    setup = (io.loadSetup ?? loadSyncSetup)(opts.config);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  try {
    const unknown = describeUnknown(setup.instances, connector, opts.stream);
    if (unknown) return fail(`${unknown.message} in ${setup.source}`);
    const streams = opts.stream ? [opts.stream] : Object.keys(setup.instances.get(connector)!.connector.streams);

    const orm = await openOrm(io.databaseUrl ?? loadConfig().databaseUrl);
    const outcomes: Outcome[] = [];
    try {
      // Files are the mapping defaults; admin-saved versions override them, as in the worker.
      const mappings = new MappingStore(orm, new MappingEngine());
      await mappings.loadActive();
      const pipeline = new SyncPipeline(orm, mappings.engine, setup.instances);
      for (const stream of streams) {
        if (io.signal?.aborted) {
          outcomes.push({ stream, skipped: 'interrupted before it started' });
          continue;
        }
        outcomes.push(await runOne(orm, pipeline, connector, stream, opts, io));
      }
      // As after a worker's sync: findings the new data raised or fixed are brought up to date.
      if (opts.checks !== false && outcomes.some((o) => 'result' in o)) await runChecksAfterSync(orm, connector, outcomes, io);
    } finally {
      await orm.close(true);
    }
    io.stdout.write(summaryTable(connector, outcomes));
    return exitCode(outcomes);
  } finally {
    await closeInstances(setup.instances);
  }
}

async function runOne(orm: MikroORM, pipeline: SyncPipeline, connector: string, stream: string, opts: SyncCommandOptions, io: SyncCommandIO): Promise<Outcome> {
  const name = `${connector}/${stream}`;
  let lock: StreamLock | null;
  try {
    if (opts.wait === false) {
      lock = await tryLockStream(orm, connector, stream, { holder: 'junction sync' });
      if (!lock) {
        const holder = describeHolder(await streamLockHolder(orm, connector, stream).catch(() => null));
        io.stderr.write(`junction sync: ${name} is being synced by ${holder}; not waiting (--no-wait)\n`);
        return { stream, busy: `being synced by ${holder}` };
      }
    } else {
      lock = await lockStream(orm, connector, stream, {
        holder: 'junction sync',
        signal: io.signal,
        onWait: (h) => io.stderr.write(`junction sync: ${name} is being synced by ${describeHolder(h)}; waiting for it to finish (Ctrl-C to stop)\n`),
      });
    }
  } catch (e) {
    if (io.signal?.aborted) return { stream, skipped: 'interrupted while waiting for the running sync' };
    throw e;
  }

  const view = new ProgressView(io.stderr, name, opts.remap ? 'remap' : opts.full ? 'full' : 'incremental', io.progressEveryMs ?? 1000);
  let result: SyncRunResult;
  try {
    const signal = io.signal ? AbortSignal.any([io.signal, lock.signal]) : lock.signal;
    const runOpts = { trigger: 'cli' as const, full: opts.full ?? false, pageSize: opts.pageSize, signal, onProgress: (p: SyncProgress) => view.update(p) };
    try {
      result = opts.remap ? await pipeline.remap(connector, stream, runOpts) : await pipeline.runStream(connector, stream, runOpts);
    } catch (e) {
      // The pipeline records its own failures; this is one it could not (e.g. the database went away).
      result = { runId: '', connector, stream, pages: 0, fetched: 0, unchanged: 0, merged: 0, failed: 0, status: 'FAILED', durationMs: 0, error: e instanceof Error ? e.message : String(e) };
    }
  } finally {
    await lock.release();
  }
  view.finish(result);
  return { stream, result };
}

/** The data checks (mappings/quality/rules.json) once, named after the runs; their trouble never changes the exit code. */
async function runChecksAfterSync(orm: MikroORM, connector: string, outcomes: Outcome[], io: SyncCommandIO): Promise<void> {
  const runs = outcomes.flatMap((o) => ('result' in o ? [`${o.stream} run ${o.result.runId}`] : []));
  try {
    const result = await new QualityRunner(orm, loadRules()).run({ trigger: `sync:${connector} (${runs.join(', ')})` });
    const found = result.rules.filter((r) => r.found).map((r) => `${r.kind} ${r.found}`);
    const skipped = result.rules.filter((r) => r.error).map((r) => r.rule);
    io.stderr.write(`data checks ${result.status}: ${found.length ? found.join(', ') : 'nothing found'}` +
      `${skipped.length ? `; skipped ${skipped.join(', ')}` : ''} (quality run #${result.runId})\n`);
  } catch (e) {
    io.stderr.write(`junction sync: data checks not run: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

export function exitCode(outcomes: Outcome[]): number {
  if (outcomes.some((o) => !('result' in o) || o.result.status === 'FAILED')) return EXIT_FAILED;
  if (outcomes.some((o) => 'result' in o && o.result.status === 'PARTIAL')) return EXIT_PARTIAL;
  return EXIT_OK;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return m < 60 ? `${m}m${String(s).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The per-stream summary printed on stdout at the end. */
export function summaryTable(connector: string, outcomes: Outcome[]): string {
  const head = ['stream', 'status', 'pages', 'fetched', 'unchanged', 'merged', 'failed', 'duration', 'run'];
  const rows = outcomes.map((o) => {
    if ('result' in o) {
      const r = o.result;
      return [o.stream, r.status, r.pages, r.fetched, r.unchanged, r.merged, r.failed, formatMs(r.durationMs), r.runId ? `#${r.runId}` : '-'].map(String);
    }
    return [o.stream, 'busy' in o ? 'BUSY' : 'SKIPPED', '-', '-', '-', '-', '-', '-', '-'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const notes: string[] = [];
  for (const o of outcomes) {
    if ('busy' in o) notes.push(`${o.stream}: not run, ${o.busy}`);
    else if ('skipped' in o) notes.push(`${o.stream}: not run, ${o.skipped}`);
    else if (o.result.status === 'FAILED') notes.push(`${o.stream}: FAILED: ${o.result.error ?? 'no error message'}`);
    else if (o.result.status === 'PARTIAL') {
      notes.push(
        `${o.stream}: ${o.result.failed} record${o.result.failed === 1 ? '' : 's'} failed (kept with their errors in source_record, status FAILED);` +
          ` after fixing the mapping run: junction sync ${connector} --stream ${o.stream} --remap`,
      );
    }
  }
  return [`${connector}:`, line(head), ...rows.map(line), ...(notes.length ? ['', ...notes] : []), ''].join('\n');
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR = 16;

/**
 * Progress on stderr. On a terminal: one line redrawn in place with an activity bar (the total is
 * not known in advance: vendors do not say how many records are coming). Otherwise: plain lines,
 * at most one per `everyMs`, and always the final one.
 */
export class ProgressView {
  private readonly started = Date.now();
  private last: SyncProgress | null = null;
  private lastPlain = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly out: Output,
    private readonly name: string,
    private readonly mode: string,
    private readonly everyMs: number,
  ) {
    if (out.isTTY) {
      this.timer = setInterval(() => this.draw(), 120);
      this.timer.unref();
      this.draw();
    } else out.write(`${name}: ${mode} sync started\n`);
  }

  update(p: SyncProgress): void {
    this.last = { ...p };
    if (this.out.isTTY) return this.draw();
    const now = Date.now();
    if (now - this.lastPlain < this.everyMs) return;
    this.lastPlain = now;
    this.out.write(`${this.name}: ${counts(p)} (${formatMs(now - this.started)})\n`);
  }

  finish(r: SyncRunResult): void {
    if (this.timer) clearInterval(this.timer);
    const text = `${this.name}: ${r.status} ${counts(r)} in ${formatMs(r.durationMs)}${r.error ? ` (${r.error})` : ''}`;
    this.out.write(this.out.isTTY ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  private draw(): void {
    const p = this.last;
    const pos = this.frame % (2 * (BAR - 4));
    const at = pos < BAR - 4 ? pos : 2 * (BAR - 4) - pos;
    const bar = ' '.repeat(at) + '====' + ' '.repeat(BAR - 4 - at);
    const spinner = SPINNER[this.frame++ % SPINNER.length];
    const text = `${spinner} ${this.name} [${bar}] ${p ? counts(p) : `${this.mode}: starting`}  ${formatMs(Date.now() - this.started)}`;
    const width = this.out.columns ?? 120;
    this.out.write(`\r\x1b[2K${text.slice(0, Math.max(20, width - 1))}`);
  }
}

function counts(p: SyncProgress): string {
  return `pages ${p.pages} · fetched ${p.fetched} · unchanged ${p.unchanged} · merged ${p.merged} · failed ${p.failed}`;
}

export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('Sync a connector now, in this process: every stream, or one with --stream (exit 0 ok, 2 some records failed, 1 failed)')
    .argument('<connector>', 'connector instance name from junction.config.yaml')
    .option('-s, --stream <stream>', 'only this stream')
    .option('--full', 'read from the beginning instead of the stored cursor')
    .option('--remap', 're-apply the mappings to stored source records without fetching')
    .option('--page-size <n>', 'records per page to ask the source for', (v) => Number(v))
    .option('--no-wait', 'fail instead of waiting when another run of a stream is in progress')
    .option('--no-checks', 'do not run the data checks after the streams')
    .option('-c, --config <file>', 'connector config file (default: $JUNCTION_CONFIG, else ./junction.config.yaml)')
    .action(async (connector: string, opts: SyncCommandOptions) => {
      const stop = new AbortController();
      let interrupts = 0;
      const onSignal = () => {
        if (++interrupts > 1) process.exit(130);
        process.stderr.write('\njunction sync: stopping after the page being stored (Ctrl-C again to quit at once)\n');
        stop.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        process.exitCode = await runSyncCommand(connector, opts, { stdout: process.stdout, stderr: process.stderr, signal: stop.signal });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
