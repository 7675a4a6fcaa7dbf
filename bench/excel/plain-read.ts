/**
 * Baseline: a plain exceljs streaming read of the same file (every row's values touched), run in
 * its own process so its peak RSS is its own. Prints one JSON line.
 */
import { peakRssKb } from './peak-rss';
import ExcelJS from 'exceljs';

async function main(): Promise<void> {
  const file = process.argv[2];
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, { sharedStrings: 'cache', styles: 'ignore', hyperlinks: 'ignore', worksheets: 'emit', entries: 'ignore' });
  let rows = 0;
  let cells = 0;
  for await (const ws of reader as AsyncIterable<any>) {
    for await (const row of ws) {
      rows++;
      const values = row.values as unknown[];
      cells += values.length;
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ rows, cells, ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssKb: peakRssKb() })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
