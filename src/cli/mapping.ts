/**
 * `junction mapping test [names...]` runs every mapping's fixtures (or the named ones) in the
 * killable sandbox — no database, the files as they are on disk, exit 1 on any failure: what an
 * admin runs before committing a mapping change. `junction mapping preview <name>` runs the mapping
 * in force (or `--source <file>`, a draft) over the latest stored source records; nothing written.
 */
import { readFileSync } from 'fs';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { openOrm } from '../db/orm';
import { defaultMappingsRoot, MappingEngine } from '../mapping/engine';
import { checkFixtures, fixturesOf, mappingFileNames } from '../mapping/fixtures';
import { SandboxedEvaluator } from '../mapping/sandboxed';
import { MappingStore } from '../mapping/store';
import { toCanonical } from '../sync/canonical';
import type { Output } from './sync';

/** Returns the exit code: 0 every fixture passed, 1 a failure or an unknown name. */
export async function runMappingTests(names: string[], io: { stdout: Output; stderr: Output; root?: string }): Promise<number> {
  const root = io.root ?? defaultMappingsRoot();
  const engine = new MappingEngine({ root });
  const all = mappingFileNames(root);
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length) {
    io.stderr.write(`junction mapping test: no mapping ${unknown.join(', ')} under ${root}\n`);
    return 1;
  }
  const sandbox = new SandboxedEvaluator();
  let failed = 0;
  let untested = 0;
  for (const name of names.length ? names : all) {
    const fixtures = fixturesOf(root, name);
    if (!fixtures.length) {
      untested++;
      io.stdout.write(`-    ${name}: no fixtures\n`);
      continue;
    }
    const failures = await checkFixtures(sandbox, name, engine.fileSource(name), fixtures);
    if (!failures.length) io.stdout.write(`ok   ${name} (${fixtures.length} fixture${fixtures.length === 1 ? '' : 's'})\n`);
    for (const f of failures) io.stdout.write(`FAIL ${name} › ${f.fixture}: ${f.message}\n`);
    if (failures.length) failed++;
  }
  io.stdout.write(`${failed ? `${failed} mapping${failed === 1 ? '' : 's'} failed` : 'all fixtures passed'}${untested ? `; ${untested} without fixtures` : ''}\n`);
  return failed ? 1 : 0;
}

export function registerMappingCommands(program: Command): void {
  const mapping = program.command('mapping').description('JSONata mappings: run their fixtures, preview them over stored source records');
  mapping
    .command('test [names...]')
    .description('Run the fixtures of every mapping (or the named ones, e.g. salesforce/accounts) in the sandbox; exit 1 on a failure')
    .action(async (names: string[]) => {
      process.exitCode = await runMappingTests(names, { stdout: process.stdout, stderr: process.stderr });
    });
  mapping
    .command('preview <name>')
    .description('Run a mapping over the latest stored source records of its stream and print input → output or error (nothing written)')
    .option('-c, --connector <name>', 'only records of this connector instance')
    .option('-n, --limit <n>', 'latest this many records (1..200)', (v) => Number(v), 5)
    .option('--source <file>', 'a draft expression to try instead of the mapping in force')
    .action(async (name: string, opts: { connector?: string; limit: number; source?: string }) => {
      const orm = await openOrm(loadConfig().databaseUrl);
      try {
        const store = new MappingStore(orm, new MappingEngine(), { validateOutput: (o) => { toCanonical(o); } });
        const result = await store.preview(name, { connector: opts.connector, limit: opts.limit, source: opts.source ? readFileSync(opts.source, 'utf8') : undefined });
        for (const r of result.rows) {
          process.stdout.write(`${JSON.stringify({ connector: r.connector, externalId: r.externalId, ...(r.error ? { error: r.error } : { output: r.output }) })}\n`);
        }
        process.stderr.write(`${result.mapping} (${result.expressionVersion}): ${result.ok} ok, ${result.failed} failed${result.timedOut ? ', stopped at the time budget' : ''}\n`);
        if (result.failed || result.timedOut) process.exitCode = 2;
      } finally {
        await orm.close(true);
      }
    });
}
