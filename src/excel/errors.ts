/**
 * Why a whole file is refused. Every message names the file and, where it applies, the sheet,
 * row and column (as Excel shows them: row 1 is the first row, columns are letters).
 */
export type ExcelErrorCode =
  | 'NOT_XLSX' | 'LEGACY_XLS' | 'ENCRYPTED' | 'CORRUPT' | 'ZIP_BOMB' | 'TOO_MANY_ENTRIES' | 'UNSUPPORTED'
  | 'SHEET_NOT_FOUND' | 'HEADER_NOT_FOUND' | 'MISSING_HEADERS' | 'DUPLICATE_HEADER' | 'TOO_MANY_COLUMNS'
  | 'TOO_MANY_ROWS' | 'TOO_MANY_EMPTY_ROWS' | 'FILE_TOO_LARGE' | 'UNKNOWN_TEMPLATE' | 'ROWS_FAILED' | 'INTERNAL'
  /** A row's 64-bit key (excel_row.row_key) is taken by a row with other values: that row only. */
  | 'ROW_KEY_COLLISION';

export interface ExcelLocation {
  file: string;
  sheet?: string | null;
  row?: number | null;
  /** Column letter (A, B, …, AA). */
  column?: string | null;
}

export class ExcelFileError extends Error {
  readonly file: string;
  readonly sheet: string | null;
  readonly row: number | null;
  readonly column: string | null;

  constructor(readonly code: ExcelErrorCode, readonly detail: string, where: ExcelLocation) {
    super(`${describeLocation(where)}: ${detail}`);
    this.name = 'ExcelFileError';
    this.file = where.file;
    this.sheet = where.sheet ?? null;
    this.row = where.row ?? null;
    this.column = where.column ?? null;
  }

  toJSON() {
    return { code: this.code, message: this.message, file: this.file, sheet: this.sheet, row: this.row, column: this.column };
  }
}

export function describeLocation(where: ExcelLocation): string {
  const parts = [where.file];
  if (where.sheet) parts.push(`sheet "${where.sheet}"`);
  if (where.row) parts.push(`row ${where.row}`);
  if (where.column) parts.push(`column ${where.column}`);
  return parts.join(', ');
}

/** 1 → A, 27 → AA. */
export function columnLetter(n: number): string {
  let s = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}

/** A → 1, AA → 27. */
export function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}
