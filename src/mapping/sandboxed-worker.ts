/**
 * Body of the sandbox worker (see sandboxed.ts): compiles one admin-supplied expression with the
 * real MappingEngine (so the helper functions and guardrails are exactly the ones sync uses),
 * evaluates each input in turn and posts one message per result. The parent owns the time
 * budget: when it runs out it terminates this thread, which stops even a regex that never
 * yields (JSONata's own timeout is only checked between evaluation steps).
 */
import { isMainThread, parentPort, workerData } from 'worker_threads';
import { CompiledMapping, MappingEngine } from './engine';
import { MappingError } from './errors';
import type { SandboxErrorInfo, SandboxJob, SandboxMessage } from './sandboxed';

function errorInfo(e: unknown): SandboxErrorInfo {
  if (e instanceof MappingError) {
    return { code: e.code, message: e.message, position: e.details.position, token: e.details.token };
  }
  return { code: 'MAPPING_FAILED', message: e instanceof Error ? e.message : String(e) };
}

/** JSONata lambdas are objects pointing at their environment: leave them out, as `$string` does. */
function dropFunctions(_key: string, v: unknown): unknown {
  if (typeof v === 'function') return undefined;
  if (v && typeof v === 'object' && ((v as any)._jsonata_lambda || (v as any)._jsonata_function)) return undefined;
  return v;
}

/** Plain JSON for the parent: JSONata sequences, functions and undefined do not cross threads as they are. */
function toJson(mapping: string, value: unknown, maxChars: number): { output: unknown } | { error: SandboxErrorInfo } {
  if (value === undefined) return { output: null };
  let text: string | undefined;
  try {
    text = JSON.stringify(value, dropFunctions);
  } catch (e) {
    return { error: errorInfo(new MappingError('MAPPING_INVALID_OUTPUT', mapping, `output is not JSON (${e instanceof Error ? e.message : String(e)})`)) };
  }
  if (text === undefined) return { output: null }; // a bare function
  if (text.length > maxChars) {
    return { error: errorInfo(new MappingError('MAPPING_INVALID_OUTPUT', mapping, `output is ${text.length} characters of JSON, more than the ${maxChars} a sandboxed run returns`)) };
  }
  return { output: JSON.parse(text) };
}

async function run(job: SandboxJob, post: (m: SandboxMessage) => void): Promise<void> {
  const engine = new MappingEngine({ timeoutMs: job.stepTimeoutMs, maxDepth: job.maxDepth });
  post({ type: 'ready' });
  let compiled: CompiledMapping;
  try {
    compiled = engine.compile(job.mapping, job.source, 'sandbox');
  } catch (e) {
    post({ type: 'compileError', error: errorInfo(e) });
    return;
  }
  for (let index = 0; index < job.items.length; index++) {
    const item = job.items[index];
    try {
      const converted = toJson(job.mapping, await compiled.evaluate(item.input, item.bindings), job.maxOutputChars);
      post('error' in converted ? { type: 'result', index, ok: false, error: converted.error } : { type: 'result', index, ok: true, output: converted.output });
    } catch (e) {
      post({ type: 'result', index, ok: false, error: errorInfo(e) });
    }
  }
  post({ type: 'done' });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  run((workerData as { job: SandboxJob }).job, (m) => port.postMessage(m)).catch((e) => {
    port.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) } satisfies SandboxMessage);
  });
}
