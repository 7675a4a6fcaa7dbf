/**
 * A stand-in source system for sync tests: one connector instance (type `testsrc`, stream
 * `people`) whose reads can be held at a gate, counted, and made to fail; the real pipeline
 * maps its records with a real `.jsonata` file from a temporary mappings root.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Connector, SourcePage } from '../../src/connectors';
import { MappingEngine } from '../../src/mapping/engine';
import type { ConnectorInstance } from '../../src/sync/pipeline';

export interface GatedSource {
  instance: ConnectorInstance;
  instances: Map<string, ConnectorInstance>;
  engine: MappingEngine;
  /** Reads started so far. */
  readonly reads: number;
  /** Most reads ever in progress at the same time. */
  readonly maxActive: number;
  /** Makes the following reads wait at the gate until `release()`. */
  hold(): void;
  release(): void;
  /** Resolves when the next read has started (and is waiting at the gate if held). */
  nextRead(): Promise<void>;
  /** The next `n` reads throw this message (as a vendor outage would). */
  /** The next n reads fail (CONNECTOR_UNAVAILABLE unless `error` says otherwise, e.g. a rate limit with retryAfterMs). */
  failNext(n: number, message?: string, error?: { code: string; retryAfterMs?: number }): void;
  /** Include a record whose phone cannot be valid (mapping fails it: PARTIAL). */
  badRecord: boolean;
  /** Records per read (default 3). */
  size: number;
  cleanup(): void;
}

export const PEOPLE_MAPPING = '{ "entity": "customer", "phone": phone, "name": name }';

export function gatedSource(name = 'src'): GatedSource {
  const root = mkdtempSync(join(tmpdir(), 'junction-mappings-'));
  mkdirSync(join(root, 'testsrc'));
  writeFileSync(join(root, 'testsrc', 'people.jsonata'), PEOPLE_MAPPING);
  let gate: Promise<void> | null = null;
  let open: () => void = () => undefined;
  let waiters: Array<() => void> = [];
  let failures: Array<{ message: string; code: string; retryAfterMs?: number }> = [];
  let reads = 0;
  let active = 0;
  let maxActive = 0;

  const source: GatedSource = {
    instance: undefined as unknown as ConnectorInstance,
    instances: new Map(),
    engine: new MappingEngine({ root }),
    get reads() { return reads; },
    get maxActive() { return maxActive; },
    hold() { gate = new Promise<void>((r) => { open = r; }); },
    release() { open(); gate = null; },
    nextRead() { return new Promise<void>((r) => waiters.push(r)); },
    failNext(n, message = 'source unavailable (test)', error = { code: 'CONNECTOR_UNAVAILABLE' }) { failures = [...failures, ...Array(n).fill({ message, ...error })]; },
    badRecord: false,
    size: 3,
    cleanup() { rmSync(root, { recursive: true, force: true }); },
  };

  async function* read(_cursor: string | null, opts?: { signal?: AbortSignal }): AsyncIterable<SourcePage> {
    reads++;
    active++;
    maxActive = Math.max(maxActive, active);
    const w = waiters;
    waiters = [];
    w.forEach((f) => f());
    try {
      if (gate) {
        const signal = opts?.signal;
        await new Promise<void>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason);
          gate!.then(resolve);
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      }
      const failure = failures.shift();
      if (failure) throw Object.assign(new Error(failure.message), { code: failure.code, retryAfterMs: failure.retryAfterMs });
      const records = Array.from({ length: source.size }, (_, i) => ({
        externalId: `p${i}`,
        version: String(reads),
        payload: { phone: `+86138001380${String(i).padStart(2, '0')}`, name: `Person ${i} (read ${reads})` },
      }));
      if (source.badRecord) records.push({ externalId: 'bad', version: '1', payload: { phone: 'not-a-phone', name: 'Bad' } });
      yield { records, cursor: `read-${reads}`, hasMore: false };
    } finally {
      active--;
    }
  }

  const connector: Connector = {
    name,
    streams: { people: { name: 'people', entity: 'customer', read } },
    healthCheck: async () => ({ ok: true }),
  };
  source.instance = { name, type: 'testsrc', system: 'crm', connector };
  source.instances.set(name, source.instance);
  return source;
}
