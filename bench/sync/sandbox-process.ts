/**
 * The bench's sandboxes in a process of their own, as the vendors' systems are in production:
 * their serving (building and encoding pages) then no longer shares the pipeline's event loop,
 * only the machine's cores. Started with `fork` by `startSandboxProcess`; answers with the
 * connector config once listening, reports its CPU when asked, stops when the parent disconnects.
 */
import { fork } from 'node:child_process';
import type { RecordSplit } from './args';
import { BenchSandboxes, startBenchSandboxes } from './setup';

type Request = { split: RecordSplit; distinctSerials: boolean } | 'cpu';
type Reply = { configYaml: string } | { cpuMs: number } | { error: string };

export interface SandboxProcess extends BenchSandboxes {
  /** CPU of the sandbox process since it started, in ms (user + system). */
  cpuMs(): Promise<number>;
}

/** Starts the sandboxes in a child process; resolves once they listen. */
export function startSandboxProcess(split: RecordSplit, distinctSerials: boolean): Promise<SandboxProcess> {
  const child = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T extends Reply>(req: Request, pick: (r: Reply) => r is T): Promise<T> => new Promise((resolve, reject) => {
    const onMessage = (r: Reply) => {
      if ('error' in r) reject(new Error(`sandbox process: ${r.error}`));
      else if (pick(r)) resolve(r);
      else return;
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onExit = (code: number | null) => reject(new Error(`sandbox process exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(req);
  });
  return ask({ split, distinctSerials }, (r): r is { configYaml: string } => 'configYaml' in r).then(({ configYaml }) => ({
    configYaml,
    cpuMs: async () => (await ask('cpu', (r): r is { cpuMs: number } => 'cpuMs' in r)).cpuMs,
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.disconnect();
    }),
  }));
}

if (require.main === module && process.send) {
  let sandboxes: BenchSandboxes | null = null;
  const send = (r: Reply) => process.send!(r);
  process.on('message', (req: Request) => {
    if (req === 'cpu') {
      const u = process.cpuUsage();
      send({ cpuMs: (u.user + u.system) / 1000 });
      return;
    }
    startBenchSandboxes(req.split, req.distinctSerials).then(
      (s) => { sandboxes = s; send({ configYaml: s.configYaml }); },
      (e: unknown) => send({ error: e instanceof Error ? e.message : String(e) }),
    );
  });
  process.on('disconnect', () => {
    void (sandboxes?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}
