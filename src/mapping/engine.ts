import { createHash } from 'crypto';
import { existsSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import jsonata from 'jsonata';
import { fromJsonataError, MappingError } from './errors';
import { BAILED, compileFast } from './fast';
import { MAPPING_FUNCTIONS } from './functions';

export { BAILED } from './fast';

/** Where the default `.jsonata` files live: `<repo>/mappings` from src/ and from dist/src/. */
export function defaultMappingsRoot(): string {
  const candidates = [resolve(__dirname, '..', '..', 'mappings'), resolve(__dirname, '..', '..', '..', 'mappings')];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

export interface MappingOptions {
  root?: string;
  /** Longest one evaluation may run before it is stopped (JSONata checks between steps). */
  timeoutMs?: number;
  /** Deepest evaluation nesting allowed (stops runaway recursion before the JS stack does). */
  maxDepth?: number;
  /** Evaluate supported expressions synchronously (src/mapping/fast); default true. */
  fastPath?: boolean;
}

export interface CompiledMapping {
  name: string;
  /** `file:<sha>` for the committed default, `v<n>` for a saved override. */
  version: string;
  source: string;
  /** Whether the expression has a synchronous fast path (src/mapping/fast); records it cannot handle still go through JSONata. */
  fast: boolean;
  /** Why there is no fast path (the first construct outside its subset), when `fast` is false. */
  fastReason?: string;
  evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown>;
  /**
   * The fast path's output without a promise, or BAILED when this record (or this mapping) needs
   * JSONata: then call `evaluate`. Never throws; errors only come from `evaluate`.
   */
  evaluateSync(input: unknown, bindings?: Record<string, unknown>): unknown;
}

/**
 * The fast path's value when this record has one, else JSONata's promise. Mapping outputs are
 * JSON values, never promises, so `v instanceof Promise` tells the two apart: hot loops (sync
 * pages, Excel rows, write-back jobs) then await only the records that need JSONata.
 */
export function evaluateEither(m: CompiledMapping, input: unknown, bindings?: Record<string, unknown>): unknown {
  const out = m.evaluateSync(input, bindings);
  return out === BAILED ? m.evaluate(input, bindings) : out;
}

const NAME = /^[a-z0-9_-]+(\/[a-z0-9_.-]+)*$/i;

/**
 * Compiles each mapping once and caches it. Files under `mappings/` are the defaults; an admin's
 * saved version (set with `setOverride`) replaces the file until cleared.
 */
export class MappingEngine {
  readonly root: string;
  private readonly timeoutMs: number;
  private readonly maxDepth: number;
  private readonly fastPath: boolean;
  private readonly cache = new Map<string, CompiledMapping>();
  private readonly overrides = new Map<string, { source: string; version: string }>();

  constructor(opts: MappingOptions = {}) {
    this.root = opts.root ?? defaultMappingsRoot();
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.maxDepth = opts.maxDepth ?? 300;
    this.fastPath = opts.fastPath ?? true;
  }

  /** Compiles without caching: syntax errors come back as MAPPING_COMPILE_FAILED with position. */
  compile(name: string, source: string, version: string): CompiledMapping {
    let expr: jsonata.Expression;
    try {
      // Guardrails (checked between evaluation steps, per evaluation): time budget and nesting depth.
      expr = (jsonata as (s: string, o: unknown) => jsonata.Expression)(source, { timeout: this.timeoutMs, stack: this.maxDepth });
    } catch (e) {
      throw fromJsonataError(name, e, true);
    }
    for (const [fn, [impl, signature]] of Object.entries(MAPPING_FUNCTIONS)) expr.registerFunction(fn, impl, signature);
    const compiled = this.fastPath ? compileFast(expr.ast(), this.maxDepth) : { reason: 'fast path disabled' };
    const fast = compiled.fast;
    return {
      name,
      version,
      source,
      fast: fast !== undefined,
      fastReason: compiled.reason,
      evaluateSync: (input, bindings) => (fast ? fast.run(input, bindings) : BAILED),
      evaluate: async (input, bindings) => {
        if (fast) {
          const out = fast.run(input, bindings);
          if (out !== BAILED) return out;
        }
        try {
          return await expr.evaluate(input, bindings);
        } catch (e) {
          throw e instanceof MappingError ? e : fromJsonataError(name, e, false);
        }
      },
    };
  }

  /** The mapping in force for `name` (override, else file), compiled once. */
  get(name: string): CompiledMapping {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const override = this.overrides.get(name);
    const compiled = override ? this.compile(name, override.source, override.version) : this.compileFile(name);
    this.cache.set(name, compiled);
    return compiled;
  }

  has(name: string): boolean {
    return this.overrides.has(name) || existsSync(this.fileOf(name));
  }

  evaluate(name: string, input: unknown, bindings?: Record<string, unknown>): Promise<unknown> {
    return this.get(name).evaluate(input, bindings);
  }

  setOverride(name: string, source: string, version: string): void {
    this.compile(name, source, version); // refuse what does not compile before it replaces anything
    this.overrides.set(name, { source, version });
    this.cache.delete(name);
  }

  clearOverride(name: string): void {
    this.overrides.delete(name);
    this.cache.delete(name);
  }

  fileSource(name: string): string {
    const file = this.fileOf(name);
    if (!existsSync(file)) throw new MappingError('MAPPING_NOT_FOUND', name, `no file ${file}`);
    return readFileSync(file, 'utf8');
  }

  private fileOf(name: string): string {
    if (!NAME.test(name) || name.includes('..')) throw new MappingError('MAPPING_NOT_FOUND', name, 'is not a valid mapping name');
    return join(this.root, `${name}.jsonata`);
  }

  private compileFile(name: string): CompiledMapping {
    const source = this.fileSource(name);
    const sha = createHash('sha256').update(source).digest('hex').slice(0, 12);
    return this.compile(name, source, `file:${sha}`);
  }
}
