import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

/** Runs `fn` under the V8 CPU profiler of this process (gateway and client alike). */
export async function profiled<T>(fn: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: 200 });
    await post(session, 'Profiler.start');
    const result = await fn();
    const { profile } = await post<{ profile: CpuProfile }>(session, 'Profiler.stop');
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

/** Where the time went, by package (node_modules/<pkg>, junction src/<dir>, node internals). */
export function summarizeProfile(profile: CpuProfile, top = 14): string[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const bucket = (n: ProfileNode): string => {
    const { functionName, url } = n.callFrame;
    if (functionName === '(idle)') return '(idle: waiting for I/O)';
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(program)') return '(program)';
    if (!url) return `(native: ${functionName || 'anonymous'})`;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (pkg) return pkg[1];
    const own = /\/(src|bench)\/([^/]+)/.exec(url);
    if (own) return `junction ${own[1]}/${own[2]}`;
    if (url.startsWith('node:')) return 'node core';
    return url;
  };
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const t = profile.timeDeltas[i] ?? 0;
    const key = bucket(nodes.get(id)!);
    totals.set(key, (totals.get(key) ?? 0) + t);
    all += t;
  });
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, t]) => `${(t / 1000).toFixed(0).padStart(7)} ms ${((100 * t) / all).toFixed(1).padStart(5)}%  ${k}`);
}

export function writeProfile(profile: CpuProfile, name: string): string {
  const dir = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../../bench/out' : '../out');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(profile));
  return file;
}
