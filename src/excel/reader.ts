import { hash } from 'crypto';
import { ArchiveLimits, MergeRange, SheetInfo, WorkbookArchive } from './archive';
import { BadValue, CellIssue, parseValue, RawValue, readCell } from './cells';
import { columnLetter, ExcelFileError } from './errors';
import { readSharedStrings, readSheetRows, SheetRow } from './sheet-xml';
import { ExcelTemplate, headerIndex, headerKey, importColumns, SheetLimits, sheetLimits, TemplateColumn } from './template';

/** A problem with one value of one row; the row is reported with it and not imported. */
export interface RowError {
  code: string;
  message: string;
  /** Column letter and header, when the problem is in one cell. */
  column?: string;
  header?: string;
  field?: string;
}

export interface ParsedRow {
  /** Row number as Excel shows it. */
  row: number;
  /** The row's cells as read (formulas by their cached value), one per header column. */
  cells: RawValue[];
  /** Typed, normalized values by template field (null when empty). */
  fields: Record<string, unknown>;
  errors: RowError[];
  /** Hash of the template name and the normalized values: the same row imports once. */
  hash: string;
}

export interface HeaderInfo {
  row: number;
  /** Header text per column (index 0 = column A), as written in the file. */
  headers: string[];
  /** Column index (0-based) → template column, for the columns the template knows. */
  mapped: Array<{ index: number; column: TemplateColumn }>;
}

export interface OpenOptions {
  archive?: Partial<ArchiveLimits>;
  sheet?: Partial<SheetLimits>;
}

const HEADER_SEARCH_ROWS = 10;

/**
 * Streams the template's sheet out of a checked workbook (`sheet-xml.ts`: our own inflate and XML
 * parse, not exceljs's WorkbookReader; why is written there): memory stays flat whatever the row
 * count, apart from the shared strings table, which is read first and kept. Each row is read cell
 * by cell (formulas by their cached value, merged cells filled down from their first row,
 * full-width characters and numbers as text handled by the column type) into typed values plus the
 * errors found.
 */
export class SheetReader {
  header: HeaderInfo | null = null;

  private constructor(
    private readonly archive: WorkbookArchive,
    readonly path: string,
    readonly file: string,
    readonly template: ExcelTemplate,
    readonly sheet: SheetInfo,
    readonly date1904: boolean,
    /** `<row>` elements in the sheet, header included: for progress. */
    readonly rowElements: number,
    private readonly merges: MergeRange[],
    private readonly limits: SheetLimits,
  ) {}

  /** Archive checks (magic, directory, caps), sheet choice, then a counted inflate of every entry. */
  static async open(path: string, file: string, template: ExcelTemplate, opts: OpenOptions = {}): Promise<SheetReader> {
    const archive = await WorkbookArchive.open(path, file, opts.archive);
    const sheet = chooseSheet(archive.info.sheets, template, file);
    // Wherever the workbook's relationships put the sheet (some writers do not call it sheetN.xml).
    if (!archive.entry(sheet.path)) {
      throw new ExcelFileError('CORRUPT', `the workbook lists the sheet at ${sheet.path}, which the file does not have; open the file in Excel and save it again`, { file, sheet: sheet.name });
    }
    const limits = { ...sheetLimits(template), ...(opts.sheet ?? {}) };
    const scan = await archive.verify(sheet.path, sheet.name);
    if (scan.rows - template.headerRow > limits.maxRows) {
      throw new ExcelFileError('TOO_MANY_ROWS', `the sheet has ${scan.rows} rows; at most ${limits.maxRows} data rows can be imported at once: split the file`, { file, sheet: sheet.name });
    }
    return new SheetReader(archive, path, file, template, sheet, archive.info.date1904, scan.rows, scan.merges, limits);
  }

  /** Rows after the header, roughly (empty and styled rows included). */
  get expectedRows(): number {
    return Math.max(0, this.rowElements - this.template.headerRow);
  }

  private where(row?: number, column?: number) {
    return { file: this.file, sheet: this.sheet.name, row: row ?? null, column: column ? columnLetter(column) : null };
  }

  /** The data rows in batches of `size`; empty rows are skipped. Throws ExcelFileError for the whole file. */
  async *batches(size: number): AsyncGenerator<ParsedRow[]> {
    try {
      const shared = await readSharedStrings(this.archive);
      yield* this.readSheet(readSheetRows(this.archive, this.sheet.path, shared), size);
    } catch (e) {
      if (e instanceof ExcelFileError) throw e;
      throw new ExcelFileError('CORRUPT', `the sheet could not be read (${(e as Error).message}); open the file in Excel and save it again`, this.where());
    }
  }

  private async *readSheet(chunks: AsyncIterable<SheetRow[]>, size: number): AsyncGenerator<ParsedRow[]> {
    const t = this.template;
    const date1904 = this.date1904;
    const ctx = { date1904 };
    const merges = new MergeSweep(this.merges);

    let header: HeaderInfo | null = null;
    /** By column index (0 = A): whether the template reads the column. */
    let readsColumn: boolean[] = [];
    let batch: ParsedRow[] = [];
    let emptyRun = 0;
    let emptyFrom = 0;
    let lastRow = 0;
    const fieldsOf = importColumns(t);
    rows: for await (const chunk of chunks) for (const row of chunk) {
      const r: number = row.number;
      if (!Number.isInteger(r) || r <= lastRow) throw new ExcelFileError('CORRUPT', 'a row has no valid row number', this.where(lastRow + 1));
      lastRow = r;
      const values: unknown[] = row.values; // sparse, index 1 = column A
      if (!header) {
        if (r < t.headerRow) continue;
        header = this.readHeader(r, values);
        if (!header) {
          if (r >= t.headerRow + HEADER_SEARCH_ROWS - 1) break rows;
          continue;
        }
        this.header = header;
        readsColumn = [];
        for (const { index, column } of header.mapped) if (!column.exportOnly) readsColumn[index] = true;
        continue;
      }
      const width = header.headers.length;
      if (values.length - 1 > width) {
        for (let c = width + 1; c < values.length; c++) {
          if (values[c] === null || values[c] === undefined) continue;
          if (c > this.limits.maxColumns) {
            throw new ExcelFileError('TOO_MANY_COLUMNS', `a value in column ${columnLetter(c)} is beyond the ${this.limits.maxColumns} columns a sheet may use`, this.where(r, c));
          }
        }
      }
      const cells: RawValue[] = new Array(width);
      const errors: RowError[] = [];
      let issues: Array<CellIssue | undefined> | null = null;
      // A row is empty unless it has a value of its own (not filled down from a merge) in a column
      // the template reads, or a value under no header (reported as NO_HEADER below). An error or a
      // formula without a result in a column nobody reads, or a formula whose result is empty, is none.
      let empty = true;
      let extra: number | null = null;
      for (let c = 1; c <= width; c++) {
        const raw = readCell(values[c], date1904);
        const reads = readsColumn[c - 1] === true;
        if (raw instanceof CellIssue) {
          cells[c - 1] = null;
          if (reads) {
            (issues ??= [])[c - 1] = raw; // reported below
            empty = false;
          }
          continue;
        }
        let v = raw;
        const own = v !== null && v !== '';
        if (own) {
          if (reads) empty = false;
          else if (extra === null && !header.headers[c - 1]) extra = c;
        }
        if (merges.any) v = merges.value(r, c, v);
        cells[c - 1] = v;
      }
      for (let c = width + 1; c < values.length && extra === null; c++) {
        const v = values[c] === undefined ? null : readCell(values[c], date1904);
        if (v !== null && v !== '' && !(v instanceof CellIssue)) extra = c;
      }
      if (extra !== null) empty = false;
      if (empty) {
        if (emptyRun++ === 0) emptyFrom = r;
        if (emptyRun > this.limits.maxEmptyRun) {
          throw new ExcelFileError('TOO_MANY_EMPTY_ROWS', `rows ${emptyFrom}–${r} are empty (formatted but without values); delete the empty rows or clear their formatting in Excel, then import again`, this.where(emptyFrom));
        }
        continue;
      }
      emptyRun = 0;

      const fields: Record<string, unknown> = {};
      for (const col of fieldsOf) fields[col.field] = null;
      for (const { index, column } of header.mapped) {
        if (column.exportOnly) continue;
        const issue = issues?.[index];
        if (issue) {
          const letter = columnLetter(index + 1);
          errors.push({ code: issue.code, message: `${column.header} (column ${letter}) ${issue.message}`, column: letter, header: header.headers[index], field: column.field });
          continue;
        }
        const v = parseValue(column, cells[index], ctx);
        if (v instanceof BadValue) {
          const letter = columnLetter(index + 1);
          errors.push({ code: v.code, message: `${column.header} (column ${letter}): ${v.message}`, column: letter, header: header.headers[index], field: column.field });
          continue;
        }
        fields[column.field] = v;
      }
      for (const col of fieldsOf) {
        if (col.required && fields[col.field] === null && !errors.some((e) => e.field === col.field)) {
          const at = header.mapped.find((m) => m.column === col);
          const letter = at ? columnLetter(at.index + 1) : undefined;
          errors.push({ code: 'MISSING_VALUE', message: `${col.header}${letter ? ` (column ${letter})` : ''} is empty; it is required`, column: letter, header: col.header, field: col.field });
        }
      }
      for (const group of t.requireOneOf ?? []) {
        if (group.every((f) => fields[f] === null) && !errors.some((e) => e.field && group.includes(e.field))) {
          const names = group.map((f) => {
            const at = header!.mapped.find((m) => m.column.field === f);
            const col = t.columns.find((c) => c.field === f)!;
            return at ? `${col.header} (column ${columnLetter(at.index + 1)})` : col.header;
          });
          errors.push({ code: 'MISSING_VALUE', message: `give at least one of ${names.join(' or ')}` });
        }
      }
      if (extra !== null) {
        errors.push({ code: 'NO_HEADER', message: `column ${columnLetter(extra)} has a value but no header; add a header or move the value`, column: columnLetter(extra) });
      }
      batch.push({ row: r, cells, fields, errors, hash: rowHash(t.name, fieldsOf, fields) });
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (!header) {
      const expected = importColumns(t).filter((c) => c.required).map((c) => c.header).join(', ');
      throw new ExcelFileError('HEADER_NOT_FOUND', lastRow
        ? `no header row found in rows ${t.headerRow}–${t.headerRow + HEADER_SEARCH_ROWS - 1}; the ${t.title} template expects headers such as ${expected}`
        : 'the sheet is empty', this.where(t.headerRow));
    }
    if (batch.length) yield batch;
  }

  /** The header row, or null when this row holds none of the template's headers. */
  private readHeader(r: number, values: unknown[]): HeaderInfo | null {
    const t = this.template;
    const index = headerIndex(t);
    const headers: string[] = [];
    let known = 0;
    let last = 0;
    for (let c = 1; c < values.length; c++) {
      const raw = readCell(values[c], this.date1904);
      const text = raw === null || raw instanceof CellIssue ? '' : String(raw).trim();
      headers[c - 1] = text;
      if (text) last = c;
      if (index.has(headerKey(text))) known++;
    }
    if (!known) return null;
    headers.length = last;
    for (let c = 0; c < headers.length; c++) if (headers[c] === undefined) headers[c] = '';
    if (last > this.limits.maxColumns) {
      throw new ExcelFileError('TOO_MANY_COLUMNS', `the header row uses ${last} columns; at most ${this.limits.maxColumns}`, this.where(r, this.limits.maxColumns + 1));
    }
    const mapped: HeaderInfo['mapped'] = [];
    const seenText = new Map<string, number>();
    const seenField = new Map<string, number>();
    for (let i = 0; i < headers.length; i++) {
      const key = headerKey(headers[i]);
      if (!key) continue;
      const prev = seenText.get(key);
      if (prev !== undefined) {
        throw new ExcelFileError('DUPLICATE_HEADER', `header "${headers[i]}" appears twice (columns ${columnLetter(prev + 1)} and ${columnLetter(i + 1)}); keep one of them`, this.where(r, i + 1));
      }
      seenText.set(key, i);
      const column = index.get(key);
      if (!column) continue;
      const other = seenField.get(column.field);
      if (other !== undefined) {
        throw new ExcelFileError('DUPLICATE_HEADER',
          `headers "${headers[other]}" (column ${columnLetter(other + 1)}) and "${headers[i]}" (column ${columnLetter(i + 1)}) both mean ${column.header}; keep one of them`, this.where(r, i + 1));
      }
      seenField.set(column.field, i);
      mapped.push({ index: i, column });
    }
    const missing = importColumns(t).filter((c) => c.required && !seenField.has(c.field));
    const missingGroups = (t.requireOneOf ?? []).filter((g) => !g.some((f) => seenField.has(f)));
    if (missing.length || missingGroups.length) {
      const parts = missing.map((c) => `${c.header}${c.aliases?.length ? ` (also accepted: ${c.aliases.join(', ')})` : ''}`);
      for (const g of missingGroups) parts.push(`one of ${g.map((f) => t.columns.find((c) => c.field === f)!.header).join(' / ')}`);
      throw new ExcelFileError('MISSING_HEADERS', `missing required column${parts.length > 1 ? 's' : ''}: ${parts.join('; ')}`, this.where(r));
    }
    return { row: r, headers, mapped };
  }
}

/**
 * Merged cells filled down: a cell inside a merged range that spans rows, below its first row,
 * takes the value of that first row (Excel keeps it only there). Rows arrive in increasing order,
 * so each column walks its ranges, sorted by first row, once: constant work per cell whatever the
 * number of merges (scanning every range of the column for every cell took 26.7 s for 32k merges).
 */
class MergeSweep {
  readonly any: boolean;
  private readonly byColumn = new Map<number, { ranges: MergeRange[]; at: number; topRow: number; top: RawValue }>();

  constructor(merges: MergeRange[]) {
    for (const m of merges) {
      if (m.bottom <= m.top) continue;
      let col = this.byColumn.get(m.left);
      if (!col) this.byColumn.set(m.left, (col = { ranges: [], at: 0, topRow: 0, top: null }));
      col.ranges.push(m);
    }
    for (const col of this.byColumn.values()) col.ranges.sort((a, b) => a.top - b.top);
    this.any = this.byColumn.size > 0;
  }

  /** The cell's value at row `r`, column `c` (1 = A): its own, or when empty the merged range's. Rows must come in increasing order. */
  value(r: number, c: number, own: RawValue): RawValue {
    const col = this.byColumn.get(c);
    if (!col) return own;
    const { ranges } = col;
    while (col.at < ranges.length && ranges[col.at].bottom < r) col.at++;
    const m = ranges[col.at];
    if (!m || m.top > r) return own;
    if (m.top === r) {
      col.topRow = r;
      col.top = own;
      return own;
    }
    if (own !== null && own !== '') return own;
    return col.topRow === m.top ? col.top : null;
  }
}

function chooseSheet(sheets: SheetInfo[], t: ExcelTemplate, file: string): SheetInfo {
  const want = headerKey(t.sheet);
  const named = sheets.find((s) => headerKey(s.name) === want);
  if (named) return named;
  const visible = sheets.filter((s) => !s.state || s.state === 'visible');
  if (visible.length === 1) return visible[0];
  if (!sheets.length) throw new ExcelFileError('SHEET_NOT_FOUND', 'the workbook has no sheets', { file });
  throw new ExcelFileError('SHEET_NOT_FOUND', `no sheet "${t.sheet}"; the workbook has ${sheets.map((s) => `"${s.name}"`).join(', ')}: rename the sheet to import to "${t.sheet}"`, { file });
}

/** Same template + same normalized values = same hash, however the cells were written. */
export function rowHash(template: string, columns: TemplateColumn[], fields: Record<string, unknown>): string {
  // One string hashed at once: the same bytes (and digest) as hashing the parts one after the
  // other, which the hashes already stored in excel_row were made with; one call instead of ten.
  let text = template;
  for (const c of columns) {
    const v = fields[c.field];
    text += '\u0001';
    if (v !== null && v !== undefined) text += typeof v === 'string' ? v : JSON.stringify(v);
  }
  return hash('sha256', text, 'hex').slice(0, 32);
}
