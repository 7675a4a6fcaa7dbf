import { SaxesParser, SaxesTagPlain } from 'saxes';
import { StringDecoder } from 'string_decoder';
import type { WorkbookArchive } from './archive';
import { decodeXstring } from './xstring';

/**
 * A worksheet's rows read straight from the archive's inflated XML: no temporary copy of the sheet,
 * no exceljs object per row or cell.
 *
 * We read sheets ourselves because exceljs 4.4's `WorkbookReader` (through unzipper) got two things
 * wrong in ways that reached imported data:
 * - it decodes each inflated chunk as UTF-8 on its own, so a Chinese character split across two
 *   chunks came out as U+FFFD (1 row in ~1,300 of a names column, silently);
 * - now and then it ended its pass over the archive's entries early (seen once in ~1,000 reads, more
 *   often under load). The sheet was then read before `xl/workbook.xml` and the import failed.
 *
 * Here the bytes come from our own archive reader (the same inflate that enforces the size caps),
 * text is decoded with one streaming decoder per entry, and the shared strings are read first
 * whatever their place in the zip (Excel writes them after the sheets).
 *
 * Values come out in the shapes `readCell` reads: number, string, boolean, Date (`t="d"`),
 * `{ formula, result }` (the cached result), `{ error }`, `{ sharedString }` for an index the
 * table does not have, or null for a cell with no value.
 */

/** One `<row>`: its number as Excel shows it and its values by column number (1 = A), sparse. */
export interface SheetRow {
  number: number;
  values: unknown[];
}

/** No namespace processing (names are compared without their prefix), no position tracking (speed). */
type ParserOptions = { xmlns: false; position: false };
const newParser = () => new SaxesParser<ParserOptions>({ xmlns: false, position: false });

/** `x:row` → `row`: some writers prefix the SpreadsheetML namespace. */
function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

/** Feeds an entry's bytes to a parser as text, decoding UTF-8 across chunk boundaries. */
async function* parsed(chunks: AsyncIterable<Buffer>, parser: SaxesParser<ParserOptions>): AsyncGenerator<void> {
  const decoder = new StringDecoder('utf8');
  for await (const chunk of chunks) {
    parser.write(decoder.write(chunk));
    yield;
  }
  parser.write(decoder.end());
  parser.close();
  yield;
}

/**
 * The shared strings table (`xl/sharedStrings.xml`), each entry's text with its rich-text runs
 * joined and phonetic guides (`<rPh>`, furigana) left out. Empty when the workbook has none.
 */
export async function readSharedStrings(archive: WorkbookArchive): Promise<string[]> {
  const path = archive.info.sharedStrings;
  if (!path) return [];
  const out: string[] = [];
  const parser = newParser();
  let inItem = false;
  let phonetic = 0;
  let inText = false;
  let text = '';
  const onText = (t: string) => {
    if (inText) text += t;
  };
  parser.on('opentag', (tag: SaxesTagPlain) => {
    const name = localName(tag.name);
    if (name === 'si') {
      inItem = true;
      text = '';
    } else if (name === 'rPh') phonetic++;
    else if (name === 't' && inItem && !phonetic && !tag.isSelfClosing) inText = true;
  });
  parser.on('closetag', (tag: SaxesTagPlain) => {
    const name = localName(tag.name);
    if (name === 't') inText = false;
    else if (name === 'rPh') phonetic--;
    else if (name === 'si') {
      out.push(decodeXstring(text));
      inItem = false;
    }
  });
  parser.on('text', onText);
  parser.on('cdata', onText);
  for await (const _ of parsed(archive.entryChunks(path), parser)) void _;
  return out;
}

/** XFD: the last column Excel has. A reference beyond it is damage (or a trap: one cell at column 8e9 would make a sparse row that long). */
const MAX_COLUMN = 16_384;

/** `AB12` → 28 (column number); 0 when the reference has no letters. */
function columnOf(ref: string): number {
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    if (c >= 65 && c <= 90) n = n * 26 + (c - 64);
    else if (c >= 97 && c <= 122) n = n * 26 + (c - 96);
    else break;
    if (n > MAX_COLUMN) throw new Error(`cell ${ref.slice(0, 20)} is beyond column XFD, the last column Excel has`);
  }
  return n;
}

/**
 * The rows of the worksheet at `sheetPath`, in file order, a few hundred at a time (whatever one
 * inflated chunk holds). Rows and cells without an `r` attribute (allowed, and written by some
 * tools) take the next number. Malformed XML throws.
 */
export async function* readSheetRows(archive: WorkbookArchive, sheetPath: string, sharedStrings: string[]): AsyncGenerator<SheetRow[]> {
  const parser = newParser();
  let out: SheetRow[] = [];
  let inData = false;
  let row: SheetRow | null = null;
  let lastRow = 0;
  // the cell being read
  let col = 0;
  let type = 'n';
  let formula = false;
  let hasValue = false;
  let value = '';
  let capture = false;
  let inlineText: string | null = null;
  let phonetic = 0;
  let nextCol = 1;

  const onText = (t: string) => {
    if (!capture) return;
    if (inlineText !== null) inlineText += t;
    else value += t;
  };
  parser.on('opentag', (tag: SaxesTagPlain) => {
    switch (localName(tag.name)) {
      case 'sheetData':
        inData = true;
        break;
      case 'row': {
        if (!inData) break;
        const r = tag.attributes.r;
        const number = r === undefined ? lastRow + 1 : Number(r);
        lastRow = number;
        row = { number, values: [] };
        nextCol = 1;
        break;
      }
      case 'c': {
        if (!row) break;
        const ref = tag.attributes.r;
        col = ref === undefined ? nextCol : columnOf(ref) || nextCol;
        if (col > MAX_COLUMN) throw new Error(`a cell of row ${row.number} is beyond column XFD, the last column Excel has`);
        type = tag.attributes.t ?? 'n';
        formula = false;
        hasValue = false;
        value = '';
        inlineText = null;
        phonetic = 0;
        break;
      }
      case 'f':
        if (row) formula = true;
        break;
      case 'v':
        if (!row) break;
        hasValue = true;
        value = '';
        capture = !tag.isSelfClosing;
        break;
      case 'is':
        if (row) inlineText = '';
        break;
      case 'rPh':
        phonetic++;
        break;
      case 't':
        if (row && inlineText !== null && !phonetic) capture = !tag.isSelfClosing;
        break;
      default:
        break;
    }
  });
  parser.on('closetag', (tag: SaxesTagPlain) => {
    switch (localName(tag.name)) {
      case 'v':
      case 't':
        capture = false;
        break;
      case 'rPh':
        phonetic--;
        break;
      case 'c':
        if (!row) break;
        row.values[col] = cellValue(type, formula, hasValue ? value : null, inlineText, sharedStrings);
        nextCol = col + 1;
        break;
      case 'row':
        if (row) out.push(row);
        row = null;
        break;
      case 'sheetData':
        inData = false;
        break;
      default:
        break;
    }
  });
  parser.on('text', onText);
  parser.on('cdata', onText);
  for await (const _ of parsed(archive.entryChunks(sheetPath), parser)) {
    void _;
    if (out.length) {
      const rows = out;
      out = [];
      yield rows;
    }
  }
}

/** A cell's value from its type (`t`), whether it is a formula, its `<v>` text and its inline string. */
function cellValue(type: string, formula: boolean, v: string | null, inline: string | null, shared: string[]): unknown {
  if (formula) {
    // Read by the result Excel last calculated; no `<v>` means the file holds none.
    if (v === null) return { formula: '' };
    return { formula: '', result: typedValue(type, v, shared) };
  }
  if (type === 'inlineStr') return decodeXstring(inline ?? v);
  if (v === null) return decodeXstring(inline);
  return typedValue(type, v, shared);
}

function typedValue(type: string, v: string, shared: string[]): unknown {
  switch (type) {
    case 's': {
      const index = Number(v);
      return Number.isInteger(index) && index >= 0 && index < shared.length ? shared[index] : { sharedString: v };
    }
    case 'str':
    case 'inlineStr':
      return decodeXstring(v);
    case 'b':
      return v.trim() !== '0' && v.trim().toLowerCase() !== 'false';
    case 'e':
      return { error: v };
    case 'd': {
      // ISO 8601 as Excel writes it (2026-02-18T00:00:00, no offset): the day and time as shown,
      // read as UTC like every other date here. `new Date` takes a date-time without an offset as
      // the server's local time, which moved the day (TZ=Asia/Shanghai: 2026-02-18 → 2026-02-17).
      const t = v.trim();
      const local = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(t);
      const d = new Date(local ? `${t}Z` : t);
      return Number.isNaN(d.getTime()) ? v : d;
    }
    default: {
      const t = v.trim();
      return t === '' ? null : Number(t);
    }
  }
}
