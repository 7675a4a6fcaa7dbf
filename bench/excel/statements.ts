/**
 * Where an import's database time goes: `node dist/bench/excel/statements.js <file.xlsx> <database url>`
 * imports the file (devices template) into that (migrated) database in this process, with
 * bench/sync's statement counter on the ORM's knex, and prints each statement kind's count and
 * round-trip milliseconds (wall time waiting on the statement: on a busy machine a proxy for
 * PostgreSQL's work, not its CPU). Used for bench/README's Excel split; not part of bench:excel.
 */
import 'reflect-metadata';
import { openOrm } from '../../src/db/orm';
import { ExcelImporter } from '../../src/excel/importer';
import { MappingEngine } from '../../src/mapping/engine';
import { TicketService } from '../../src/tickets/ticket-service';
import { StatementCounter } from '../sync/instrument';

async function main(): Promise<void> {
  const [file, url, template = 'devices'] = process.argv.slice(2);
  const orm = await openOrm(url);
  const counter = new StatementCounter(orm);
  const t0 = Date.now();
  const s = await new ExcelImporter(orm, new MappingEngine(), new TicketService(orm)).run({
    template, path: file, fileName: file.split('/').pop()!, actor: { name: 'bench', origin: 'bench' }, resultPath: `${file}.statements.jsonl`,
  });
  const wall = Date.now() - t0;
  await orm.close(true);
  const rows = [...counter.time.entries()].sort((a, b) => b[1].ms - a[1].ms);
  process.stdout.write(`${s.status}: imported ${s.imported}, unchanged ${s.unchanged}, failed ${s.failed}; wall ${(wall / 1000).toFixed(1)} s, statements ${(counter.sqlMs / 1000).toFixed(1)} s\n`);
  for (const [kind, t] of rows) process.stdout.write(`${kind.padEnd(40)}${String(t.count).padStart(8)}${(t.ms / 1000).toFixed(2).padStart(10)} s\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
