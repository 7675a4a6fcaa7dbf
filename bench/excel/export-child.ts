/** Junction's export (`junction excel export devices`, streaming) in its own process; prints one JSON line. */
import 'reflect-metadata';
import { peakRssKb } from './peak-rss';
import { openOrm } from '../../src/db/orm';
import { exportData } from '../../src/excel/exporter';
import { loadTemplate } from '../../src/excel/template';

async function main(): Promise<void> {
  const [template, output, databaseUrl] = process.argv.slice(2);
  const orm = await openOrm(databaseUrl);
  const t0 = process.hrtime.bigint();
  try {
    const rows = await exportData(orm, loadTemplate(template), {}, output);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    process.stdout.write(`${JSON.stringify({ rows, ms, maxRssKb: peakRssKb() })}\n`);
  } finally {
    await orm.close(true);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
