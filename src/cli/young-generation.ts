/**
 * The sync pipeline allocates a page's worth of short-lived objects (payloads, mapped records,
 * statement parameters) that live across a few round trips. With V8's default 16 MB semi-space
 * they survive two scavenges and are promoted, and the old generation pays mark-compacts for
 * them: ~20% of the pipeline's busy time went to the garbage collector. A 64 MB semi-space lets
 * them die young (bench:sync at 200k records: about 1 s less Node CPU of ~12 s, ~7% wall).
 * The cost is memory, up to ~100 MB more RSS, so only the commands that run syncs get it (not
 * `excel import`, which keeps its peak RSS low; see src/excel/heap.ts).
 *
 * The semi-space is fixed when the process starts (`v8.setFlagsFromString` has no effect on it
 * later), hence a child process with the flag. JUNCTION_SEMI_SPACE_MB sets the size (0: no
 * relaunch); a --max-semi-space-size given in node's own flags or NODE_OPTIONS is left alone.
 */
import { spawn } from 'child_process';

export const SYNC_COMMANDS = ['sync', 'worker', 'demo'];
export const DEFAULT_SEMI_SPACE_MB = 64;
/** Set in the child, so it never relaunches again. */
const RELAUNCHED = 'JUNCTION_RELAUNCHED';

/**
 * The node arguments of the child to start, or null to run the command in this process.
 * `always`: whatever the command (bench:sync, which measures the pipeline as `junction sync` runs it).
 */
export function relaunchArgs(argv: string[], execArgv: string[], env: NodeJS.ProcessEnv, always = false): string[] | null {
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (!always && (!command || !SYNC_COMMANDS.includes(command))) return null;
  if (env[RELAUNCHED] || givenSemiSpace(execArgv, env) !== null) return null;
  const raw = env.JUNCTION_SEMI_SPACE_MB?.trim();
  const mb = raw ? Number(raw) : DEFAULT_SEMI_SPACE_MB;
  if (!Number.isInteger(mb) || mb < 0 || mb > 1024) throw new Error(`JUNCTION_SEMI_SPACE_MB must be a whole number of MB from 0 to 1024, got "${raw}"`);
  if (mb === 0) return null;
  return [...execArgv, `--max-semi-space-size=${mb}`, ...argv.slice(1)];
}

/** Starts the command in a child with the larger young generation when it runs syncs; true if it did. */
export function relaunchWithYoungGeneration(opts: { always?: boolean } = {}): boolean {
  let args: string[] | null;
  try {
    args = relaunchArgs(process.argv, process.execArgv, process.env, opts.always);
  } catch (e) {
    process.stderr.write(`junction: ${(e as Error).message}\n`);
    process.exit(2);
  }
  if (!args) return false;
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, [RELAUNCHED]: '1' } });
  // SIGTERM/SIGHUP (docker stop, systemd, kill) go to this process only: pass them on. A Ctrl-C
  // reaches the child from the terminal itself (same process group); passing SIGINT on as well
  // would make it a second Ctrl-C, which `junction sync` takes as "quit at once".
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  process.on('SIGINT', () => undefined);
  child.on('error', (e) => {
    process.stderr.write(`junction: could not start ${process.execPath}: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // End the same way the child did, so a caller sees the signal, not a made-up exit code.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
  return true;
}

/** The --max-semi-space-size given to node (its flags or NODE_OPTIONS), in MB as written; null when none. */
function givenSemiSpace(execArgv: string[], env: NodeJS.ProcessEnv): string | null {
  const flag = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].find((a) => /^--max-semi-space-size\b/.test(a));
  return flag === undefined ? null : flag.split('=')[1] ?? '';
}

/** The semi-space size this process runs with, as given to node ("default" when not given). */
export function semiSpaceSetting(): string {
  const mb = givenSemiSpace(process.execArgv, process.env);
  return mb === null ? 'default' : `${mb} MB`;
}
