/**
 * Junction's side: `junction excel import` (runExcelImport, the CLI's own code) in its own
 * process against the benchmark database. Prints one JSON line with the summary and peak RSS.
 */
import 'reflect-metadata';
import { runExcelImport } from '../../src/cli/excel';

async function main(): Promise<void> {
  const [file, template, outDir, databaseUrl] = process.argv.slice(2);
  let summary = '';
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const code = await runExcelImport(file, { template, outDir, resultXlsx: false }, {
    stdout: { write: (s: string) => (summary += s) },
    stderr: { write: (s: string) => process.stderr.write(s) },
    databaseUrl,
    progressEveryMs: 10_000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ code, ms, cpuMs: (cpu.user + cpu.system) / 1000, summary, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
