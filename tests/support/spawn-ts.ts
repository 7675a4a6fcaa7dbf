import { ChildProcess, spawn } from 'child_process';

/** A `.ts` loader (types stripped by the typescript package, decorators kept), then the entry. */
const BOOTSTRAP = `
const fs = require('fs');
const Module = require('module');
const ts = require(process.env.TS_PATH);
require('reflect-metadata');
Module._extensions['.ts'] = function (module, filename) {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true,
      emitDecoratorMetadata: true, useDefineForClassFields: false, resolveJsonModule: true },
  });
  module._compile(out.outputText, filename);
};
require(process.env.TS_ENTRY);
`;

/** Runs a TypeScript file in a child node process; resolves once it prints `ready`. */
export function spawnTs(entry: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', BOOTSTRAP], {
    env: { ...process.env, ...env, TS_PATH: require.resolve('typescript'), TS_ENTRY: entry },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => { err += String(d); if (err.length > 20000) err = err.slice(-20000); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start in 60 s: ${err.slice(-2000)}`)), 60_000);
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}
