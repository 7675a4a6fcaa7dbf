/**
 * The sync benchmark's pass 1 on its own: every stream read through its connector (nothing
 * staged, mapped or merged), no database. For the connectors' and sandboxes' cost per record.
 *
 *   npm run build && node dist/bench/sync/read.js [--records N] [--page-size N] [--rounds N]
 *
 * Rounds after the first re-read the same sandboxes (the connectors stay logged in).
 */
import 'reflect-metadata';
import { parseConnectorsConfig } from '../../src/connectors';
import { closeInstances, loadSyncSetup } from '../../src/sync/instances';
import { DEFAULT_RECORDS, splitRecords } from './args';
import { readOnlyPass, streamOrder } from './read-pass';
import { startBenchSandboxes } from './setup';

function flag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const records = flag(argv, '--records', DEFAULT_RECORDS);
  const pageSize = flag(argv, '--page-size', 2000);
  const rounds = flag(argv, '--rounds', 1);
  const sandboxes = await startBenchSandboxes(splitRecords(records));
  const setup = loadSyncSetup(undefined, { config: parseConnectorsConfig(sandboxes.configYaml, 'bench:sync read') });
  const order = streamOrder(setup.instances);
  try {
    for (let round = 1; round <= rounds; round++) {
      const runs = await readOnlyPass(setup.instances, order, pageSize);
      let n = 0;
      let ms = 0;
      let cpu = 0;
      for (const r of runs) {
        n += r.records;
        ms += r.ms;
        cpu += r.nodeCpuMs;
        process.stdout.write(`  ${r.key.padEnd(24)} ${String(r.records).padStart(7)} records ${String(r.pages).padStart(4)} pages ${(r.ms / 1000).toFixed(2).padStart(6)} s ${Math.round(r.records / (r.ms / 1000)).toString().padStart(8)}/s  Node CPU ${(r.nodeCpuMs / 1000).toFixed(2)} s\n`);
      }
      process.stdout.write(`round ${round}: ${n} records in ${(ms / 1000).toFixed(2)} s = ${Math.round(n / (ms / 1000))} records/s, Node CPU ${(cpu / 1000).toFixed(2)} s\n`);
    }
  } finally {
    await closeInstances(setup.instances);
    await sandboxes.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
