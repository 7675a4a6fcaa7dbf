import { tmpdir } from 'os';
import { join } from 'path';
import { Worker } from 'worker_threads';
import { MappingError, MappingErrorCode } from './errors';

/**
 * Runs an ADMIN-SUPPLIED expression over a batch of inputs in a worker thread with a wall-clock
 * budget. JSONata's own timeout is checked between evaluation steps only, so a catastrophic
 * regex (`$match("aaaa…!", /(a+)+$/)`) would block the event loop for good; here the parent
 * terminates the worker when the budget runs out, which V8 honours even inside a regex.
 *
 * How the worker finds its code (it must work from ts-jest, which runs the .ts sources, and from
 * the tsc-built dist, which holds only compiled .js: the build has no allowJs and copies nothing):
 * - the worker body is an ordinary TypeScript module, sandboxed-worker.ts, that imports the real
 *   MappingEngine, so the helper functions (functions.ts, identity/normalize.ts with
 *   libphonenumber) and the guardrails are the very ones sync uses, never a serialized copy
 *   (`fn.toString()` would lose their imports);
 * - from dist (this file is .js) the worker is the compiled sandboxed-worker.js beside it;
 * - from sources (this file is .ts: ts-jest, ts-node) a tiny eval'd bootstrap registers a `.ts`
 *   loader that strips types with the `typescript` package (present wherever .ts files are run)
 *   and then requires sandboxed-worker.ts. Loading that takes a moment, so the budget starts only
 *   when the worker reports ready, never during start-up.
 * One worker per batch: nothing of one expression outlives its run, and a terminated worker needs
 * no repair.
 */

export interface SandboxItem {
  input: unknown;
  bindings?: Record<string, unknown>;
}

export interface SandboxErrorInfo {
  code: MappingErrorCode;
  /** Starts with "Mapping <name>:" like every MappingError. */
  message: string;
  position?: number;
  token?: string;
}

export type SandboxResult = { ok: true; output: unknown } | { ok: false; error: SandboxErrorInfo };

export interface SandboxRun {
  /** One per input, in order. */
  results: SandboxResult[];
  /** The budget ran out: the worker was terminated and the unfinished inputs carry MAPPING_TIMEOUT. */
  timedOut: boolean;
  /** Wall-clock time from the worker being ready to the last result (or the stop). */
  elapsedMs: number;
  budgetMs: number;
}

export interface SandboxOptions {
  /** Wall-clock budget for a whole batch; default JUNCTION_MAPPING_BUDGET_MS or 2000. */
  budgetMs?: number;
  /** JSONata's own per-evaluation step timeout inside the worker (stops loops early); default = budget. */
  stepTimeoutMs?: number;
  maxDepth?: number;
  /** Heap limit of the worker; an expression that needs more is stopped with MAPPING_FAILED. */
  memoryMb?: number;
  /** How long the worker may take to load before the run fails (not part of the budget). */
  startupTimeoutMs?: number;
  /** Largest output (characters of JSON) one input may produce. */
  maxOutputChars?: number;
  /** Batches running at once in this process; more wait their turn. */
  maxConcurrent?: number;
}

/** What the parent sends (as workerData). */
export interface SandboxJob {
  mapping: string;
  source: string;
  items: SandboxItem[];
  stepTimeoutMs: number;
  maxDepth: number;
  maxOutputChars: number;
}

export type SandboxMessage =
  | { type: 'ready' }
  | { type: 'compileError'; error: SandboxErrorInfo }
  | { type: 'result'; index: number; ok: true; output: unknown }
  | { type: 'result'; index: number; ok: false; error: SandboxErrorInfo }
  | { type: 'done' }
  | { type: 'fatal'; message: string };

export function defaultBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.JUNCTION_MAPPING_BUDGET_MS;
  if (raw === undefined || raw === '') return 2000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`JUNCTION_MAPPING_BUDGET_MS must be a positive integer, got "${raw}"`);
  return n;
}

const FROM_SOURCES = __filename.endsWith('.ts');

/**
 * Eval'd in the worker when running from .ts sources: a `.ts` loader, then the worker body.
 * Transpiled files are kept on disk keyed by path and content, so only the first worker of a
 * change loads the `typescript` package (about a second per worker otherwise).
 */
const TS_BOOTSTRAP = `
const { workerData, threadId } = require('worker_threads');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const Module = require('module');
let ts;
Module._extensions['.ts'] = function (module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha256').update(filename).update('\\0').update(source).digest('hex');
  const cached = path.join(workerData.cacheDir, key + '.js');
  let out;
  try {
    out = fs.readFileSync(cached, 'utf8');
  } catch {
    ts = ts || require(workerData.typescript);
    out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
    }).outputText;
    try {
      fs.mkdirSync(workerData.cacheDir, { recursive: true });
      const tmp = cached + '.' + process.pid + '.' + threadId;
      fs.writeFileSync(tmp, out);
      fs.renameSync(tmp, cached);
    } catch {
      // a cache that cannot be written only costs time
    }
  }
  module._compile(out, filename);
};
require(workerData.entry);
`;

function startWorker(job: SandboxJob, memoryMb: number): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: memoryMb };
  if (!FROM_SOURCES) return new Worker(join(__dirname, 'sandboxed-worker.js'), { workerData: { job }, resourceLimits });
  return new Worker(TS_BOOTSTRAP, {
    eval: true,
    workerData: { job, entry: join(__dirname, 'sandboxed-worker.ts'), typescript: require.resolve('typescript'), cacheDir: join(tmpdir(), `junction-sandbox-ts-${process.getuid?.() ?? 'user'}`) },
    resourceLimits,
  });
}

export class SandboxedEvaluator {
  readonly budgetMs: number;
  private readonly stepTimeoutMs: number;
  private readonly maxDepth: number;
  private readonly memoryMb: number;
  private readonly startupTimeoutMs: number;
  private readonly maxOutputChars: number;
  private readonly maxConcurrent: number;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(opts: SandboxOptions = {}) {
    this.budgetMs = opts.budgetMs ?? defaultBudgetMs();
    this.stepTimeoutMs = opts.stepTimeoutMs ?? this.budgetMs;
    this.maxDepth = opts.maxDepth ?? 300;
    this.memoryMb = opts.memoryMb ?? 256;
    this.startupTimeoutMs = opts.startupTimeoutMs ?? 30000;
    this.maxOutputChars = opts.maxOutputChars ?? 200_000;
    this.maxConcurrent = opts.maxConcurrent ?? 2;
  }

  /**
   * Evaluates `source` (compiled as mapping `mapping`) over every item. Per-input failures come
   * back as results; an expression that does not compile rejects with MAPPING_COMPILE_FAILED.
   */
  async run(mapping: string, source: string, items: SandboxItem[]): Promise<SandboxRun> {
    if (items.length === 0) return { results: [], timedOut: false, elapsedMs: 0, budgetMs: this.budgetMs };
    await this.acquire();
    try {
      return await this.runOnce({
        mapping, source, items, stepTimeoutMs: this.stepTimeoutMs, maxDepth: this.maxDepth, maxOutputChars: this.maxOutputChars,
      });
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve)); // the slot passes straight to the waiter
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private runOnce(job: SandboxJob): Promise<SandboxRun> {
    const { mapping, items } = job;
    const budgetMs = this.budgetMs;
    return new Promise<SandboxRun>((resolve, reject) => {
      const results: SandboxResult[] = [];
      let worker: Worker;
      try {
        worker = startWorker(job, this.memoryMb);
      } catch (e) {
        reject(e);
        return;
      }
      let settled = false;
      let readyAt = 0;
      let budgetTimer: NodeJS.Timeout | undefined;
      const startupTimer = setTimeout(() => fail(new Error(`the mapping sandbox did not start within ${this.startupTimeoutMs} ms`)), this.startupTimeoutMs);

      const finish = (outcome: { run?: SandboxRun; error?: unknown }) => {
        if (settled) return;
        settled = true;
        clearTimeout(startupTimer);
        if (budgetTimer) clearTimeout(budgetTimer);
        worker.removeAllListeners('message');
        worker.terminate().catch(() => undefined);
        if (outcome.error !== undefined) reject(outcome.error);
        else resolve(outcome.run!);
      };
      const fail = (error: unknown) => finish({ error });

      /** Stops the batch: the input that was running gets `code`, the ones after it say they never ran. */
      const stop = (code: MappingErrorCode, why: string, timedOut: boolean) => {
        const running = results.length;
        for (let i = running; i < items.length; i++) {
          const message = i === running
            ? `${why} (input ${i + 1} of ${items.length} was running)`
            : `not evaluated: ${why} on an earlier input`;
          results.push({ ok: false, error: { code, message: new MappingError(code, mapping, message).message } });
        }
        finish({ run: { results, timedOut, elapsedMs: readyAt ? Date.now() - readyAt : 0, budgetMs } });
      };

      worker.on('message', (m: SandboxMessage) => {
        switch (m.type) {
          case 'ready':
            clearTimeout(startupTimer);
            readyAt = Date.now();
            budgetTimer = setTimeout(() => stop('MAPPING_TIMEOUT', `stopped after ${budgetMs} ms, the sandbox's time budget for the batch`, true), budgetMs);
            return;
          case 'compileError':
            fail(new MappingError(m.error.code, mapping, m.error.message.replace(/^Mapping .*?: /, ''), { position: m.error.position, token: m.error.token }));
            return;
          case 'result':
            results[m.index] = m.ok ? { ok: true, output: m.output } : { ok: false, error: m.error };
            return;
          case 'done':
            finish({ run: { results, timedOut: false, elapsedMs: Date.now() - readyAt, budgetMs } });
            return;
          case 'fatal':
            if (readyAt) stop('MAPPING_FAILED', `the sandbox failed: ${m.message}`, false);
            else fail(new Error(`the mapping sandbox failed to start: ${m.message}`));
            return;
        }
      });
      worker.on('error', (e: Error & { code?: string }) => {
        if (settled) return;
        const why = e.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `stopped: used more than the sandbox's ${this.memoryMb} MB of memory`
          : `the sandbox failed: ${e.message}`;
        if (readyAt) stop('MAPPING_FAILED', why, false);
        else fail(new Error(`the mapping sandbox failed to start: ${e.message}`));
      });
      worker.on('exit', (code) => {
        if (settled) return;
        if (readyAt) stop('MAPPING_FAILED', `the sandbox exited unexpectedly (code ${code})`, false);
        else fail(new Error(`the mapping sandbox exited before it started (code ${code})`));
      });
    });
  }
}
