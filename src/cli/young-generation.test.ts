/**
 * Which commands get a child process with the larger young generation, and that the child really
 * runs with the flag, hands back its exit code and receives SIGTERM (docker stop, systemd).
 */
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import ts from 'typescript';
import { DEFAULT_SEMI_SPACE_MB, relaunchArgs } from './young-generation';

const argv = (...args: string[]) => ['/usr/bin/node', '/app/dist/src/cli/main.js', ...args];
const FLAG = `--max-semi-space-size=${DEFAULT_SEMI_SPACE_MB}`;

describe('relaunchArgs', () => {
  it('sync, worker and demo run in a child with the flag, after node\'s own flags and before the script', () => {
    expect(relaunchArgs(argv('sync', 'erp', '--full'), ['--enable-source-maps'], {})).toEqual(['--enable-source-maps', FLAG, '/app/dist/src/cli/main.js', 'sync', 'erp', '--full']);
    expect(relaunchArgs(argv('worker'), [], {})).toEqual([FLAG, '/app/dist/src/cli/main.js', 'worker']);
    expect(relaunchArgs(argv('demo', '--port', '4000'), [], {})).toEqual([FLAG, '/app/dist/src/cli/main.js', 'demo', '--port', '4000']);
  });

  it('other commands, help and no command run here, unless asked always (bench:sync)', () => {
    for (const a of [argv('excel', 'import', 'x.xlsx'), argv('serve'), argv('migrate'), argv(), argv('--help')]) expect(relaunchArgs(a, [], {})).toBeNull();
    expect(relaunchArgs(['/usr/bin/node', '/app/dist/bench/sync/run.js', '--records', '2000'], [], {}, true))
      .toEqual([FLAG, '/app/dist/bench/sync/run.js', '--records', '2000']);
  });

  it('never twice, and a size already chosen in node\'s flags or NODE_OPTIONS is left alone', () => {
    expect(relaunchArgs(argv('sync', 'erp'), [], { JUNCTION_RELAUNCHED: '1' })).toBeNull();
    expect(relaunchArgs(argv('sync', 'erp'), ['--max-semi-space-size=8'], {})).toBeNull();
    expect(relaunchArgs(argv('sync', 'erp'), [], { NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=32' })).toBeNull();
  });

  it('JUNCTION_SEMI_SPACE_MB sets the size; 0 turns it off; anything else is refused', () => {
    expect(relaunchArgs(argv('worker'), [], { JUNCTION_SEMI_SPACE_MB: '32' })).toEqual(['--max-semi-space-size=32', '/app/dist/src/cli/main.js', 'worker']);
    expect(relaunchArgs(argv('worker'), [], { JUNCTION_SEMI_SPACE_MB: '0' })).toBeNull();
    expect(() => relaunchArgs(argv('worker'), [], { JUNCTION_SEMI_SPACE_MB: 'big' })).toThrow(/JUNCTION_SEMI_SPACE_MB.*"big"/);
    expect(() => relaunchArgs(argv('worker'), [], { JUNCTION_SEMI_SPACE_MB: '-1' })).toThrow(/JUNCTION_SEMI_SPACE_MB/);
  });
});

describe('the relaunch itself (real processes)', () => {
  let dir: string;
  let entry: string;
  beforeAll(() => {
    // The module as plain JS next to an entry that, once running (in the child or not), prints
    // its node flags and then exits with the code asked for, or waits for SIGTERM.
    dir = mkdtempSync(join(tmpdir(), 'junction-young-'));
    const source = readFileSync(join(__dirname, 'young-generation.ts'), 'utf8');
    writeFileSync(join(dir, 'young-generation.js'), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText);
    entry = join(dir, 'entry.js');
    writeFileSync(entry, `
      const { relaunchWithYoungGeneration } = require('./young-generation.js');
      if (!relaunchWithYoungGeneration()) {
        const mode = process.argv[3];
        if (mode === 'wait') {
          // the handler before the line the test answers with SIGTERM
          process.on('SIGTERM', () => { process.stdout.write('got SIGTERM\\n'); process.exit(42); });
          setInterval(() => undefined, 1000);
        } else process.exitCode = Number(mode);
        process.stdout.write(JSON.stringify({ execArgv: process.execArgv, pid: process.pid }) + '\\n');
      }`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; lines: string[]; pid: number }> {
    const env = { ...process.env };
    delete env.JUNCTION_RELAUNCHED;
    delete env.JUNCTION_SEMI_SPACE_MB;
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buffered = '';
    child.stdout!.on('data', (d) => {
      buffered += String(d);
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        lines.push(line);
        onLine?.(line, child);
      }
    });
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, lines, pid: child.pid! })));
  }

  it('a sync command runs in a child with the flag and exits with the child\'s code', async () => {
    const { code, lines, pid } = await run(['sync', '7']);
    const seen = JSON.parse(lines[0]);
    expect(seen.execArgv).toContain(FLAG);
    expect(seen.pid).not.toBe(pid);
    expect(code).toBe(7);
  });

  it('another command runs in the same process without it', async () => {
    const { code, lines, pid } = await run(['excel', '3']);
    const seen = JSON.parse(lines[0]);
    expect(seen.execArgv).not.toContain(FLAG);
    expect(seen.pid).toBe(pid);
    expect(code).toBe(3);
  });

  it('SIGTERM to the process started reaches the child', async () => {
    const { code, lines } = await run(['worker', 'wait'], (line, child) => {
      if (line.startsWith('{')) child.kill('SIGTERM');
    });
    expect(lines).toContain('got SIGTERM');
    expect(code).toBe(42);
  });
});
