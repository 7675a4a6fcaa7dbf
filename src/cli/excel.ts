/**
 * `junction excel import <file> --template T` (progress on stderr, summary on stdout, results
 * beside the file), `junction excel export <template> -o FILE [filters]`, `junction excel
 * template <template> -o FILE`.
 *
 * Import exit code: 0 every row imported or unchanged; 2 some rows failed (the others were
 * imported; dry run: some rows would fail); 1 nothing imported (file refused, every row failed,
 * --atomic with a failed row, or an unknown template). The same codes for a dry run.
 */
import { promises as fs } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { openOrm } from '../db/orm';
import { exportData, writeTemplateWorkbook } from '../excel/exporter';
import { parseExportFilter } from '../excel/http';
import { ExcelImporter, ImportProgress, ImportSummary } from '../excel/importer';
import { readLines, writeResultWorkbook } from '../excel/results';
import { listTemplates, loadTemplate } from '../excel/template';
import { MappingEngine } from '../mapping/engine';
import { MappingStore } from '../mapping/store';
import { TicketService } from '../tickets/ticket-service';
import { formatMs, Output } from './sync';

export interface ExcelImportOptions {
  template: string;
  atomic?: boolean;
  dryRun?: boolean;
  /** false (`--no-push`): queue none of the template's pushes to legacy systems. */
  push?: boolean;
  /** Where results go (default: beside the file). */
  outDir?: string;
  /** false: no result workbook (the JSON Lines are always written). */
  resultXlsx?: boolean;
  batchSize?: number;
}

export interface ExcelIO {
  stdout: Output;
  stderr: Output;
  databaseUrl?: string;
  progressEveryMs?: number;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_PARTIAL = 2;

export function exitCodeOf(s: ImportSummary): number {
  if (s.status === 'SUCCEEDED') return EXIT_OK;
  return s.status === 'PARTIAL' ? EXIT_PARTIAL : EXIT_FAILED;
}

/** Progress on stderr: a bar redrawn in place on a terminal, plain lines at most every `everyMs` otherwise. */
class ImportProgressView {
  private readonly started = Date.now();
  private last = 0;

  constructor(private readonly out: Output, private readonly name: string, private readonly everyMs: number) {}

  update(p: ImportProgress): void {
    const now = Date.now();
    if (now - this.last < (this.out.isTTY ? 100 : this.everyMs)) return;
    this.last = now;
    const total = Math.max(p.expectedRows, p.processed);
    const pct = total ? Math.min(100, Math.floor((100 * p.processed) / total)) : 0;
    const rate = p.processed / Math.max(0.001, (now - this.started) / 1000);
    const counts = `${p.processed}/${total} rows · imported ${p.imported} · unchanged ${p.unchanged} · failed ${p.failed} · ${Math.round(rate)} rows/s`;
    if (this.out.isTTY) {
      const width = 24;
      const done = Math.round((width * pct) / 100);
      const text = `${this.name} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${String(pct).padStart(3)}% ${counts}`;
      this.out.write(`\r\x1b[2K${text.slice(0, Math.max(20, (this.out.columns ?? 120) - 1))}`);
    } else this.out.write(`${this.name}: ${pct}% ${counts}\n`);
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\r\x1b[2K');
  }
}

export function summaryText(s: ImportSummary, outputs: string[]): string {
  const lines = [
    `${s.file} → ${s.template}${s.sheet ? ` (sheet ${s.sheet})` : ''}: ${s.status}${s.dryRun ? ' (dry run: nothing written)' : ''}${s.atomic ? ' (atomic)' : ''}`,
    `  rows ${s.processed} · ${s.dryRun ? 'valid' : 'imported'} ${s.imported} · unchanged ${s.unchanged} · failed ${s.failed} · ${formatMs(s.durationMs)}`,
  ];
  if (s.pushed) lines.push(`  pushes queued ${s.pushed} (write-backs; \`junction worker\` delivers them, GraphQL writeBacks(origin: "excel:${s.template}:${s.file}#") shows them)`);
  if (s.error) lines.push(`  ${s.error.code}: ${s.error.message}`);
  for (const o of outputs) lines.push(`  result: ${o}`);
  return `${lines.join('\n')}\n`;
}

/** The command's body; returns the exit code. */
export async function runExcelImport(file: string, opts: ExcelImportOptions, io: ExcelIO): Promise<number> {
  const path = resolve(file);
  try {
    loadTemplate(opts.template);
  } catch (e) {
    io.stderr.write(`junction excel import: ${(e as Error).message}\n`);
    return EXIT_FAILED;
  }
  try {
    await fs.access(path);
  } catch {
    io.stderr.write(`junction excel import: no file ${path}\n`);
    return EXIT_FAILED;
  }
  const outDir = opts.outDir ? resolve(opts.outDir) : dirname(path);
  await fs.mkdir(outDir, { recursive: true });
  const base = basename(path).replace(/\.xlsx$/i, '');
  const jsonl = join(outDir, `${base}.result.jsonl`);
  const xlsx = join(outDir, `${base}.result.xlsx`);
  const orm = await openOrm(io.databaseUrl ?? loadConfig().databaseUrl);
  try {
    const mappings = new MappingStore(orm, new MappingEngine());
    await mappings.loadActive();
    const importer = new ExcelImporter(orm, mappings.engine, new TicketService(orm));
    const view = new ImportProgressView(io.stderr, basename(path), io.progressEveryMs ?? 2000);
    const summary = await importer.run({
      template: opts.template, path, fileName: basename(path), atomic: opts.atomic, dryRun: opts.dryRun, push: opts.push,
      actor: { name: `cli:${process.env.USER || 'excel'}`, origin: 'excel' }, resultPath: jsonl, batchSize: opts.batchSize,
      onProgress: (p) => view.update(p),
    });
    view.done();
    const outputs = [jsonl];
    if (opts.resultXlsx !== false && summary.headers.length) {
      await writeResultWorkbook(readLines(jsonl), summary.headers, summary.sheet ?? opts.template, xlsx);
      outputs.push(xlsx);
    }
    io.stdout.write(summaryText(summary, outputs));
    return exitCodeOf(summary);
  } finally {
    await orm.close(true);
  }
}

interface ExportOptions {
  output: string;
  status?: string;
  priority?: string;
  region?: string;
  tier?: string;
  model?: string;
  phone?: string;
  serial?: string;
  from?: string;
  to?: string;
  limit?: string;
}

export function registerExcelCommands(program: Command): void {
  const excel = program.command('excel').description(`Excel exchange: import, export and template downloads (templates: ${listTemplates().join(', ')})`);
  excel
    .command('import')
    .description('Import a workbook through a template (exit 0 ok, 2 some rows failed, 1 nothing imported)')
    .argument('<file>', 'the .xlsx file')
    .requiredOption('-t, --template <name>', 'template: tickets, devices, customers')
    .option('--atomic', 'all or nothing: one failed row and nothing is imported')
    .option('--dry-run', 'check every row (and what master data would fill), write nothing')
    .option('--no-push', 'do not push the imported rows on to the template\'s push targets (legacy systems)')
    .option('--out-dir <dir>', 'where <file>.result.jsonl and <file>.result.xlsx go (default: beside the file)')
    .option('--no-result-xlsx', 'write only the JSON Lines result, not the result workbook')
    .option('--batch-size <n>', 'rows per batch', (v) => Number(v))
    .action(async (file: string, opts: ExcelImportOptions) => {
      process.exitCode = await runExcelImport(file, opts, { stdout: process.stdout, stderr: process.stderr });
    });
  excel
    .command('export')
    .description('Export tickets, devices or customers as the template workbook (streamed; text that looks like a formula is neutralized)')
    .argument('<template>', 'tickets, devices, customers')
    .requiredOption('-o, --output <file>', 'the .xlsx to write')
    .option('--status <list>', 'tickets: statuses, comma-separated')
    .option('--priority <list>', 'tickets: priorities, comma-separated')
    .option('--region <list>', 'customers: regions')
    .option('--tier <list>', 'customers: tiers')
    .option('--model <model>', 'devices: model')
    .option('--phone <phone>', 'the customer (any written form)')
    .option('--serial <serial>', 'devices, tickets: the device')
    .option('--from <date>', 'created on or after (devices: purchased), YYYY-MM-DD')
    .option('--to <date>', 'created before (devices: purchased), YYYY-MM-DD')
    .option('--limit <n>', 'at most this many rows')
    .action(async (name: string, opts: ExportOptions) => {
      const t = loadTemplate(name);
      const { output, ...query } = opts;
      const filter = parseExportFilter(query as Record<string, unknown>);
      const orm = await openOrm(loadConfig().databaseUrl);
      try {
        const started = Date.now();
        const n = await exportData(orm, t, filter, resolve(output));
        process.stdout.write(`${n} rows → ${resolve(output)} (${formatMs(Date.now() - started)})\n`);
      } finally {
        await orm.close(true);
      }
    });
  excel
    .command('template')
    .description('Write a template workbook: headers, a sample row, dropdowns for enumerations, an instructions sheet')
    .argument('<template>', 'tickets, devices, customers')
    .requiredOption('-o, --output <file>', 'the .xlsx to write')
    .action(async (name: string, opts: { output: string }) => {
      await writeTemplateWorkbook(loadTemplate(name), resolve(opts.output));
      process.stdout.write(`${resolve(opts.output)}\n`);
    });
}
