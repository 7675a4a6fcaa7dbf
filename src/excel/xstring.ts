import { storable } from '../db/storable-text';

/**
 * SpreadsheetML's escapes in cell text (ST_Xstring): a character XML cannot hold is written
 * `_xHHHH_`, and a literal `_x` that would read as one is written `_x005F_x`. Excel writes a
 * carriage return in a cell (text pasted from Windows) as `_x000D_`: XML turns a raw one into a line
 * feed. Excel and Junction's reader decode them; exceljs writes text as it is, so Junction's exports
 * encode them.
 */
const ESCAPE = /_x([0-9A-Fa-f]{4})_/g;

/**
 * Text as read from a sheet. Read literally, `故障描述_x000D_` ended up in imported values. U+0000
 * and unpaired surrogates, which PostgreSQL cannot store, come out as U+FFFD.
 */
export function decodeXstring(text: string): string;
export function decodeXstring(text: string | null): string | null;
export function decodeXstring(text: string | null): string | null {
  if (text === null || !text.includes('_x')) return text;
  const decoded = text.replace(ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return decoded === text ? text : storable(decoded);
}

/** Text as written to a sheet: a literal `_xHHHH_` as `_x005F_xHHHH_` (else shown as the character), a carriage return as `_x000D_`. */
export function encodeXstring(text: string): string {
  const literal = text.includes('_x') ? text.replace(ESCAPE, '_x005F_x$1_') : text;
  return literal.includes('\r') ? literal.replaceAll('\r', '_x000D_') : literal;
}
