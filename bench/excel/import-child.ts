/**
 * Junction's side: `junction excel import` (runExcelImport, the CLI's own code) in its own
 * process against the benchmark database. Prints one JSON line with the summary and peak RSS.
 */
import 'reflect-metadata';
import { peakRssKb } from './peak-rss';
import { appendFileSync } from 'fs';
import { setFlagsFromString, writeHeapSnapshot } from 'v8';
import { runExcelImport } from '../../src/cli/excel';

// Experiment: V8 flags set at run time.
if (process.env.JUNCTION_BENCH_V8FLAGS) setFlagsFromString(process.env.JUNCTION_BENCH_V8FLAGS);
// JUNCTION_BENCH_MEMTRACE=<file>: process.memoryUsage() every 500 ms, one JSON line each (MB).
const trace = process.env.JUNCTION_BENCH_MEMTRACE;
if (trace) {
  const t0 = Date.now();
  const mb = (n: number) => Math.round(n / 1048576);
  setInterval(() => {
    const m = process.memoryUsage();
    appendFileSync(trace, `${JSON.stringify({ s: (Date.now() - t0) / 1000, rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) })}\n`);
  }, 500).unref();
}
// JUNCTION_BENCH_HEAPSNAP=<dir>:<s>,<s>…: heap snapshots (live objects only) at those seconds.
const snap = process.env.JUNCTION_BENCH_HEAPSNAP;
if (snap) {
  const [dir, at] = snap.split(':');
  for (const s of at.split(',')) {
    setTimeout(() => {
      const f = writeHeapSnapshot(`${dir}/import-${s}s.heapsnapshot`);
      process.stderr.write(`heap snapshot ${f}\n`);
    }, Number(s) * 1000).unref();
  }
}

/** JUNCTION_BENCH_BATCH_SIZE: the import's rows per batch (`--batch-size`); anything but a positive whole number stops the bench. */
function batchSize(): number | undefined {
  const raw = process.env.JUNCTION_BENCH_BATCH_SIZE;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`JUNCTION_BENCH_BATCH_SIZE must be a positive whole number, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  const [file, template, outDir, databaseUrl] = process.argv.slice(2);
  let summary = '';
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const code = await runExcelImport(file, { template, outDir, resultXlsx: false, batchSize: batchSize() }, {
    stdout: { write: (s: string) => (summary += s) },
    stderr: { write: (s: string) => process.stderr.write(s) },
    databaseUrl,
    progressEveryMs: 10_000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ code, ms, cpuMs: (cpu.user + cpu.system) / 1000, summary, maxRssKb: peakRssKb() })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
