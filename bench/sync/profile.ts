import { Session } from 'node:inspector';
import path from 'node:path';

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

/**
 * Runs `fn` under the V8 CPU profiler of this process (pipeline, connectors and the in-process
 * sandboxes alike). 1 ms sampling: the pass runs for minutes.
 */
export async function profiled<T>(fn: () => Promise<T>, intervalUs = 1000): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: intervalUs });
    await post(session, 'Profiler.start');
    const result = await fn();
    const { profile } = await post<{ profile: CpuProfile }>(session, 'Profiler.stop');
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

/** The functions with the most self time (where the CPU actually was), idle excluded. */
export function topFunctions(profile: CpuProfile, top = 15): string[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    if (functionName === '(idle)') return;
    const t = profile.timeDeltas[i] ?? 0;
    const where = url ? `${url.replace(/^.*\/(node_modules|dist|src)\//, '$1/').replace(/^file:\/\//, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where ? `  ${path.normalize(where)}` : ''}`;
    totals.set(key, (totals.get(key) ?? 0) + t);
    busy += t;
  });
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, t]) => `${(t / 1000).toFixed(0).padStart(7)} ms ${((100 * t) / busy).toFixed(1).padStart(5)}% of busy  ${k}`);
}
