import { createReadStream, createWriteStream, promises as fs, WriteStream } from 'fs';
import { createInterface } from 'readline';
import type { Readable, Writable } from 'stream';
import ExcelJS from 'exceljs';
import type { RawValue } from './cells';
import { neutralize } from './guard';
import type { RowError } from './reader';

/**
 * Per-row outcome of an import:
 * - IMPORTED: merged into golden records, or a ticket was created;
 * - UNCHANGED: the same row (same normalized values) was imported before: nothing to do;
 * - FAILED: the row has errors (see `error`) and was not imported;
 * - NOT_IMPORTED: the row was fine, but the file was not imported (--atomic with failed rows,
 *   or the file was refused part way);
 * - VALID: a dry run found nothing wrong with the row.
 */
export type RowStatus = 'IMPORTED' | 'UNCHANGED' | 'FAILED' | 'NOT_IMPORTED' | 'VALID';

/** One line of the result JSON Lines: the standard JSON a row became, with where it came from. */
export interface ResultLine {
  file: string;
  sheet: string;
  row: number;
  status: RowStatus;
  /** Plain-language errors of the row, joined; null when none. */
  error: string | null;
  errors: RowError[];
  /** The row as read, by header. */
  values: Record<string, RawValue>;
  /**
   * Canonical records (the standard JSON), after filling from master data. Empty for a customers or
   * devices row that is UNCHANGED: it was imported before and is neither filled nor mapped again.
   */
  records: unknown[];
  /** Fields filled from master data. */
  filled: string[];
  /** Ticket template: the ticket number created (or created earlier, for UNCHANGED). */
  ticket?: string | null;
}

/** Appends JSON Lines to a file, waiting when the disk is slower than the import. */
export class LineWriter {
  private readonly out: WriteStream;
  private failed: Error | null = null;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
    this.out.on('error', (e) => { this.failed = e; });
  }

  async write(lines: ResultLine[]): Promise<void> {
    if (this.failed) throw this.failed;
    let text = '';
    for (const l of lines) text += `${JSON.stringify(l)}\n`;
    if (!this.out.write(text)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.end(() => (this.failed ? reject(this.failed) : resolve()));
    });
  }
}

/** Reads JSON Lines one object at a time (flat memory). */
export async function* readLines(input: string | Readable): AsyncGenerator<ResultLine> {
  const stream = typeof input === 'string' ? createReadStream(input) : input;
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of rl) if (line) yield JSON.parse(line) as ResultLine;
}

/**
 * Rewrites a result file line by line through `edit` (flat memory: 1000 lines at a time, into a
 * temporary file renamed over it): for what is known only once the whole file is done.
 */
export async function rewriteLines(path: string, edit: (line: ResultLine) => ResultLine): Promise<void> {
  const tmp = `${path}.tmp`;
  const out = new LineWriter(tmp);
  let buf: ResultLine[] = [];
  for await (const l of readLines(path)) {
    buf.push(edit(l));
    if (buf.length >= 1000) {
      await out.write(buf);
      buf = [];
    }
  }
  await out.write(buf);
  await out.close();
  await fs.rename(tmp, path);
}

/** Rewrites statuses after the fact (the file was rolled back): IMPORTED → `to`. */
export function restatus(path: string, to: 'NOT_IMPORTED' | 'VALID'): Promise<void> {
  return rewriteLines(path, (l) => {
    if (l.status === 'IMPORTED') l.status = to;
    return l;
  });
}

const STATUS_TEXT: Record<RowStatus, string> = {
  IMPORTED: '已导入 IMPORTED',
  UNCHANGED: '无变化 UNCHANGED',
  FAILED: '失败 FAILED',
  NOT_IMPORTED: '未导入 NOT_IMPORTED',
  VALID: '校验通过 VALID',
};

/**
 * The result workbook: the original rows (by their headers) plus a status and a plain-language
 * error per row, streamed from the JSON Lines with exceljs's WorkbookWriter. Text cells, headers
 * included, go through the guard (formula injection, characters XML cannot hold, `_xHHHH_` escapes).
 */
export async function writeResultWorkbook(lines: AsyncIterable<ResultLine>, headers: string[], sheet: string, out: Writable | string): Promise<number> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({
    ...(typeof out === 'string' ? { filename: out } : { stream: out }), useStyles: true, useSharedStrings: false,
  });
  const ws = wb.addWorksheet(sheet.slice(0, 31) || 'Sheet1', { views: [{ state: 'frozen', ySplit: 1 }] });
  const cols = headers.map((h) => h || '');
  // The headers are the uploaded file's text too: through the same guard as every cell (a header
  // `=HYPERLINK(...)`, or `_xFFFF_` that the reader decoded to U+FFFF, which no XML can hold). The
  // values are still looked up by the header as read (`cols`).
  ws.columns = [...cols.map((h) => ({ header: neutralize(h), width: Math.min(40, Math.max(10, h.length * 2 + 4)) })), { header: '导入状态 Status', width: 18 }, { header: '说明 Error', width: 60 }];
  ws.getRow(1).font = { bold: true };
  ws.getRow(1).commit();
  let n = 0;
  for await (const l of lines) {
    const row = ws.addRow([...cols.map((h) => neutralize(h ? l.values[h] ?? null : null)), STATUS_TEXT[l.status] ?? l.status, neutralize(l.error ?? (l.ticket ? `工单 ${l.ticket}` : ''))]);
    if (l.status === 'FAILED') {
      row.getCell(cols.length + 1).font = { color: { argb: 'FFC00000' }, bold: true };
      row.getCell(cols.length + 2).font = { color: { argb: 'FFC00000' } };
    }
    row.commit();
    n++;
  }
  ws.commit();
  await wb.commit();
  return n;
}
