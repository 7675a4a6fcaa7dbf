import { createReadStream } from 'fs';
import { open, stat } from 'fs/promises';
import { createInflateRaw, inflateRawSync } from 'zlib';
import { columnNumber, ExcelFileError } from './errors';

/**
 * Opens an upload's zip with our own small reader, never trusting it: a zip bomb must not exhaust
 * memory or disk, and the sheet is later read from here too (`sheet-xml.ts`). Here:
 *
 * 1. Magic bytes: an OLE/CFB file (D0 CF 11 E0) is a password-protected OOXML workbook (it has an
 *    `EncryptionInfo` stream) or a legacy .xls; anything else that is not a zip is named (CSV, HTML…).
 * 2. The central directory, read with our own small parser and without inflating anything: entry
 *    count, total uncompressed size, per-entry compression ratio, encrypted entries, methods.
 * 3. `verify`: every entry is inflated once as a stream, counting bytes, and stopped as soon as it
 *    produces more than its directory entry claims (a lying header cannot get past the caps). The
 *    chosen worksheet is scanned on the way for the row count (progress) and its merged cells
 *    (they are listed after the rows, too late for a streaming reader).
 */

export interface ArchiveLimits {
  maxEntries: number;
  maxUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio of one entry (checked for entries above ratioFloorBytes). */
  maxRatio: number;
  ratioFloorBytes: number;
  /** The reader keeps the shared strings table in memory: its cap bounds that. */
  maxSharedStringsBytes: number;
  /** Merged ranges spanning rows in the sheet read (kept in memory to fill values down); more refuse the file. */
  maxMerges: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 5_000,
  maxUncompressedBytes: 1024 * 1024 * 1024,
  maxRatio: 100,
  ratioFloorBytes: 1024 * 1024,
  maxSharedStringsBytes: 200 * 1024 * 1024,
  maxMerges: 1_000_000,
};

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface SheetInfo {
  name: string;
  /** Zip path, e.g. xl/worksheets/sheet1.xml. */
  path: string;
  state: string | null;
}

export interface WorkbookInfo {
  size: number;
  entries: ZipEntry[];
  sheets: SheetInfo[];
  date1904: boolean;
  /** Zip path of the shared strings table, when the workbook has one. */
  sharedStrings: string | null;
}

export interface MergeRange {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

export interface SheetScan {
  /** `<row>` elements in the sheet (header and empty rows included). */
  rows: number;
  /** The merged ranges that span rows (a merge within one row is left out), in file order. */
  merges: MergeRange[];
}

const MB = (n: number) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

async function readAt(fd: import('fs/promises').FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fd.read(buf, 0, length, position);
  return bytesRead === length ? buf : buf.subarray(0, bytesRead);
}

const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const utf16 = (s: string) => Buffer.from(s, 'utf16le');

/** An OLE compound file: encrypted OOXML, a legacy .xls, or some other old Office file. */
async function classifyCfb(path: string, file: string): Promise<ExcelFileError> {
  const markers = { encrypted: [utf16('EncryptionInfo'), utf16('EncryptedPackage')], xls: [utf16('Workbook'), utf16('Book')] };
  let carry = Buffer.alloc(0);
  let found: 'encrypted' | 'xls' | null = null;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, end: 256 * 1024 * 1024 })) {
    const buf = Buffer.concat([carry, chunk as Buffer]);
    if (markers.encrypted.some((m) => buf.includes(m))) {
      found = 'encrypted';
      break;
    }
    if (!found && markers.xls.some((m) => buf.includes(m))) found = 'xls';
    carry = buf.subarray(Math.max(0, buf.length - 64));
  }
  if (found === 'encrypted') {
    return new ExcelFileError('ENCRYPTED', 'the workbook is password-protected (encrypted); remove the password in Excel (File → Info → Protect Workbook → Encrypt with Password, clear it), save, and import again', { file });
  }
  if (found === 'xls') return new ExcelFileError('LEGACY_XLS', 'this is an old Excel 97-2003 (.xls) file; open it in Excel and save it as .xlsx', { file });
  return new ExcelFileError('NOT_XLSX', 'this is an old-style Office (OLE) file, not an Excel .xlsx workbook', { file });
}

/** Names what a non-zip file looks like, for the error message. */
function sniff(head: Buffer): string {
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (head.subarray(0, 4).toString('latin1') === '%PDF') return 'a PDF document';
  if (/^<\?xml/i.test(text) && /urn:schemas-microsoft-com:office:spreadsheet/.test(text)) return 'an Excel 2003 XML spreadsheet';
  if (/^<(!doctype\s+html|html|table)/i.test(text) || /^<\?xml[^>]*>\s*<html/i.test(text)) return 'an HTML page (some systems save a table as HTML with an Excel name)';
  if (/^</.test(text)) return 'an XML or HTML document';
  let printable = 0;
  for (const b of head) if (b === 9 || b === 10 || b === 13 || b >= 32) printable++;
  if (head.length && printable / head.length > 0.95) return /[,;\t]/.test(text) ? 'text, probably CSV' : 'a text file';
  return 'not a zip archive';
}

function parseAttributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:]+)\s*=\s*"([^"]*)"/g)) attrs[m[1]] = m[2];
  for (const m of tag.matchAll(/([\w:]+)\s*=\s*'([^']*)'/g)) attrs[m[1]] = m[2];
  return attrs;
}

function xmlDecode(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-f]+));/gi, (_m, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[name.toLowerCase()];
  });
}

/** Decodes `A2:B4` (or `C7`) into 1-based rows and columns. */
export function decodeRange(ref: string): MergeRange | null {
  const m = /^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$/i.exec(ref.trim());
  if (!m) return null;
  const left = columnNumber(m[1]);
  const top = Number(m[2]);
  const right = m[3] ? columnNumber(m[3]) : left;
  const bottom = m[4] ? Number(m[4]) : top;
  return { top: Math.min(top, bottom), left: Math.min(left, right), bottom: Math.max(top, bottom), right: Math.max(left, right) };
}

export class WorkbookArchive {
  private constructor(readonly path: string, readonly file: string, readonly limits: ArchiveLimits, readonly info: WorkbookInfo) {}

  /** Steps 1 and 2 (nothing inflated but workbook.xml and its relationships, each capped). */
  static async open(path: string, file: string, limits: Partial<ArchiveLimits> = {}): Promise<WorkbookArchive> {
    const lim = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
    const size = (await stat(path)).size;
    if (size === 0) throw new ExcelFileError('NOT_XLSX', 'the file is empty', { file });
    const fd = await open(path, 'r');
    try {
      const head = await readAt(fd, 0, Math.min(size, 4096));
      if (head.subarray(0, 8).equals(CFB_MAGIC)) throw await classifyCfb(path, file);
      if (head.readUInt32LE(0) !== 0x04034b50 && head.readUInt32LE(0) !== 0x06054b50) {
        throw new ExcelFileError('NOT_XLSX', `this is not an Excel .xlsx workbook (it looks like ${sniff(head)})`, { file });
      }
      const entries = await readCentralDirectory(fd, size, file, lim);
      checkEntries(entries, size, file, lim);
      const byName = new Map(entries.map((e) => [e.name, e]));
      if (!byName.has('xl/workbook.xml')) {
        if (byName.has('xl/workbook.bin')) throw new ExcelFileError('UNSUPPORTED', 'this is a binary Excel workbook (.xlsb); save it as .xlsx', { file });
        if (byName.has('mimetype') || byName.has('content.xml')) throw new ExcelFileError('NOT_XLSX', 'this is an OpenDocument spreadsheet (.ods); save it as .xlsx', { file });
        throw new ExcelFileError('NOT_XLSX', 'this is a zip archive but not an Excel workbook (it has no xl/workbook.xml)', { file });
      }
      const readSmall = async (name: string) => {
        const e = byName.get(name);
        return e ? (await inflateSmall(fd, e, file, 16 * 1024 * 1024)).toString('utf8') : null;
      };
      const workbookXml = (await readSmall('xl/workbook.xml'))!;
      const relsXml = (await readSmall('xl/_rels/workbook.xml.rels')) ?? '';
      const targets = new Map<string, string>();
      let sharedStrings: string | null = null;
      for (const m of relsXml.matchAll(/<(?:\w+:)?Relationship\b([^>]*)>/g)) {
        const a = parseAttributes(m[1]);
        if (!a.Id || !a.Target) continue;
        const t = xmlDecode(a.Target);
        const target = t.startsWith('/') ? t.slice(1) : `xl/${t.replace(/^\.\//, '')}`;
        targets.set(a.Id, target);
        if (/\/sharedStrings$/.test(a.Type ?? '') && byName.has(target)) sharedStrings = target;
      }
      if (!sharedStrings && byName.has('xl/sharedStrings.xml')) sharedStrings = 'xl/sharedStrings.xml';
      const sheets: SheetInfo[] = [];
      for (const m of workbookXml.matchAll(/<(?:\w+:)?sheet\b([^>]*)>/g)) {
        const a = parseAttributes(m[1]);
        const rid = a['r:id'] ?? Object.entries(a).find(([k]) => k.endsWith(':id'))?.[1];
        const path = rid ? targets.get(rid) : undefined;
        if (a.name && path) sheets.push({ name: xmlDecode(a.name), path, state: a.state ?? null });
      }
      const date1904 = /<(?:\w+:)?workbookPr\b[^>]*\bdate1904\s*=\s*["'](1|true)["']/.test(workbookXml);
      return new WorkbookArchive(path, file, lim, { size, entries, sheets, date1904, sharedStrings });
    } finally {
      await fd.close();
    }
  }

  entry(name: string): ZipEntry | undefined {
    return this.info.entries.find((e) => e.name === name);
  }

  /**
   * Step 3: inflates every entry as a stream (nothing kept), stopping at the first one that
   * produces more than its directory entry claims or does not inflate; scans `sheetPath`.
   */
  async verify(sheetPath: string, sheetName?: string): Promise<SheetScan> {
    const max = this.limits.maxMerges;
    const scan = new SheetScanner(max, () => new ExcelFileError('UNSUPPORTED',
      `the sheet has more than ${max.toLocaleString('en-US')} merged ranges that span rows; at most ${max.toLocaleString('en-US')} can be read: unmerge the cells (Home → Merge & Center) and fill the values in, then import again`,
      { file: this.file, sheet: sheetName ?? null }));
    const fd = await open(this.path, 'r');
    try {
      for (const e of [...this.info.entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset)) {
        if (e.name.endsWith('/') && e.uncompressedSize === 0) continue;
        const scanned = e.name === sheetPath;
        for await (const chunk of inflateChunks(this.path, await dataStart(fd, e, this.file), e, this.file)) if (scanned) scan.push(chunk);
      }
    } finally {
      await fd.close();
    }
    return { rows: scan.rows, merges: scan.merges };
  }

  /**
   * An entry's inflated bytes as a stream (with backpressure), refused as a zip bomb as soon as
   * they exceed what its directory entry claims, and as damaged when they end short of it.
   */
  async *entryChunks(name: string): AsyncGenerator<Buffer> {
    const e = this.entry(name);
    if (!e) throw new ExcelFileError('CORRUPT', `the file is damaged (it has no entry ${name})`, { file: this.file });
    const fd = await open(this.path, 'r');
    let start: number;
    try {
      start = await dataStart(fd, e, this.file);
    } finally {
      await fd.close();
    }
    yield* inflateChunks(this.path, start, e, this.file);
  }
}

async function readCentralDirectory(fd: import('fs/promises').FileHandle, size: number, file: string, lim: ArchiveLimits): Promise<ZipEntry[]> {
  const corrupt = (why: string) => new ExcelFileError('CORRUPT', `the file is damaged (${why}); it may have been cut off while uploading or copying: get the file again`, { file });
  const tailLen = Math.min(size, 65535 + 22);
  const tail = await readAt(fd, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt('the zip directory at its end is missing');
  let total = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locAt = eocd - 20;
    if (locAt < 0 || tail.readUInt32LE(locAt) !== 0x07064b50) throw corrupt('a ZIP64 directory locator is missing');
    const z64Offset = Number(tail.readBigUInt64LE(locAt + 8));
    const z64 = await readAt(fd, z64Offset, 56);
    if (z64.length < 56 || z64.readUInt32LE(0) !== 0x06064b50) throw corrupt('the ZIP64 directory record is missing');
    total = Number(z64.readBigUInt64LE(32));
    cdSize = Number(z64.readBigUInt64LE(40));
    cdOffset = Number(z64.readBigUInt64LE(48));
  }
  if (total > lim.maxEntries) {
    throw new ExcelFileError('TOO_MANY_ENTRIES', `the archive holds ${total} entries; a workbook may have at most ${lim.maxEntries}`, { file });
  }
  if (cdOffset + cdSize > size || cdSize > 64 * 1024 * 1024) throw corrupt('the zip directory points outside the file');
  const cd = await readAt(fd, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < total; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw corrupt(`zip directory entry ${n + 1} is unreadable`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let uncompressedSize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.subarray(p + 46, p + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    // ZIP64 extra field: the 64-bit values of the fields saturated above, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (uncompressedSize === 0xffffffff && q + 8 <= x + 4 + len) { uncompressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (compressedSize === 0xffffffff && q + 8 <= x + 4 + len) { compressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (localHeaderOffset === 0xffffffff && q + 8 <= x + 4 + len) { localHeaderOffset = Number(cd.readBigUInt64LE(q)); q += 8; }
      }
      x += 4 + len;
    }
    entries.push({ name, method, flags, compressedSize, uncompressedSize, localHeaderOffset });
    p = xEnd + commentLen;
  }
  return entries;
}

function checkEntries(entries: ZipEntry[], size: number, file: string, lim: ArchiveLimits): void {
  let total = 0;
  for (const e of entries) {
    if (e.flags & 0x1) {
      throw new ExcelFileError('ENCRYPTED', `the archive's entries are encrypted (${e.name}); remove the password and save the workbook again`, { file });
    }
    if (e.method !== 0 && e.method !== 8) {
      throw new ExcelFileError('UNSUPPORTED', `entry ${e.name} uses zip compression method ${e.method}; save the workbook again from Excel`, { file });
    }
    if (e.localHeaderOffset + e.compressedSize > size) {
      throw new ExcelFileError('CORRUPT', `the file is damaged (entry ${e.name} runs past the end of the file); get the file again`, { file });
    }
    if (e.method === 0 && e.compressedSize !== e.uncompressedSize) {
      throw new ExcelFileError('CORRUPT', `the file is damaged (stored entry ${e.name} has inconsistent sizes)`, { file });
    }
    total += e.uncompressedSize;
    if (total > lim.maxUncompressedBytes) {
      throw new ExcelFileError('ZIP_BOMB', `the archive unpacks to more than ${MB(lim.maxUncompressedBytes)} (entry ${e.name} and before); refused as a possible zip bomb`, { file });
    }
    if (e.uncompressedSize > lim.ratioFloorBytes && e.uncompressedSize / Math.max(1, e.compressedSize) > lim.maxRatio) {
      const ratio = Math.round(e.uncompressedSize / Math.max(1, e.compressedSize));
      throw new ExcelFileError('ZIP_BOMB', `entry ${e.name} unpacks ${ratio} times larger than it is stored (${MB(e.uncompressedSize)}); at most ${lim.maxRatio}: refused as a possible zip bomb`, { file });
    }
    if (e.name === 'xl/sharedStrings.xml' && e.uncompressedSize > lim.maxSharedStringsBytes) {
      throw new ExcelFileError('ZIP_BOMB', `the shared strings table is ${MB(e.uncompressedSize)}; at most ${MB(lim.maxSharedStringsBytes)}`, { file });
    }
  }
}

async function dataStart(fd: import('fs/promises').FileHandle, e: ZipEntry, file: string): Promise<number> {
  const h = await readAt(fd, e.localHeaderOffset, 30);
  if (h.length < 30 || h.readUInt32LE(0) !== 0x04034b50) {
    throw new ExcelFileError('CORRUPT', `the file is damaged (entry ${e.name} has no local header); get the file again`, { file });
  }
  return e.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
}

async function inflateSmall(fd: import('fs/promises').FileHandle, e: ZipEntry, file: string, cap: number): Promise<Buffer> {
  if (e.uncompressedSize > cap) throw new ExcelFileError('ZIP_BOMB', `entry ${e.name} is ${MB(e.uncompressedSize)}; at most ${MB(cap)}`, { file });
  const raw = await readAt(fd, await dataStart(fd, e, file), e.compressedSize);
  if (e.method === 0) return raw;
  try {
    return inflateRawSync(raw, { maxOutputLength: Math.max(1, e.uncompressedSize) });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new ExcelFileError('ZIP_BOMB', `entry ${e.name} unpacks to more than its directory entry claims; refused as a possible zip bomb`, { file });
    throw new ExcelFileError('CORRUPT', `the file is damaged (entry ${e.name} does not unpack: ${(err as Error).message})`, { file });
  }
}

async function* inflateChunks(path: string, start: number, e: ZipEntry, file: string): AsyncGenerator<Buffer> {
  if (e.compressedSize === 0) {
    if (e.uncompressedSize === 0) return;
    throw new ExcelFileError('CORRUPT', `the file is damaged (entry ${e.name} is empty)`, { file });
  }
  const input = createReadStream(path, { start, end: start + e.compressedSize - 1, highWaterMark: 1 << 18 });
  const stream = e.method === 0 ? input : input.pipe(createInflateRaw({ chunkSize: 1 << 18 }));
  let readError: Error | null = null;
  // pipe() does not pass a read error on: end the inflate with it, so the loop below sees it.
  if (stream !== input) input.on('error', (err) => { readError = err; stream.destroy(err); });
  let produced = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      produced += chunk.length;
      if (produced > e.uncompressedSize) {
        throw new ExcelFileError('ZIP_BOMB', `entry ${e.name} unpacks to more than the ${MB(e.uncompressedSize)} its directory entry claims; refused as a possible zip bomb`, { file });
      }
      yield chunk;
    }
  } catch (err) {
    if (err instanceof ExcelFileError) throw err;
    if (readError || stream === input) throw new ExcelFileError('CORRUPT', `the file could not be read (${(err as Error).message})`, { file });
    throw new ExcelFileError('CORRUPT', `the file is damaged (entry ${e.name} does not unpack: ${(err as Error).message})`, { file });
  } finally {
    input.destroy();
    stream.destroy();
  }
  if (produced !== e.uncompressedSize) {
    throw new ExcelFileError('CORRUPT', `the file is damaged (entry ${e.name} unpacks to ${produced} bytes, its directory entry says ${e.uncompressedSize})`, { file });
  }
}

/** `<row …>`, `<row>`, `<row/>`, with or without a namespace prefix (`<x:row …>`): not `<rowBreaks>`. */
const ROW_OPEN = /<(?:[A-Za-z_][\w.-]*:)?row[\s>/]/g;
const MERGE_OPEN = /<(?:[A-Za-z_][\w.-]*:)?mergeCell[\s>/]/g;
const CARRY = 512;

/**
 * Counts `<row>` elements and collects the merged ranges that span rows (`<mergeCell ref=…>`)
 * while the sheet streams past. Only those are kept: the reader fills a value down through them;
 * a merge within one row changes nothing it reads. More than `maxMerges` of them refuse the file
 * (they are kept in memory) instead of being dropped, which would leave rows without their values.
 */
class SheetScanner {
  rows = 0;
  merges: MergeRange[] = [];
  private carry: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMerges: number, private readonly tooMany: () => Error) {}

  push(chunk: Buffer): void {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const fresh = this.carry.length; // a match ending at or before this was counted last time
    const text = buf.toString('latin1'); // one char per byte: indexes are byte offsets
    ROW_OPEN.lastIndex = 0;
    for (let m = ROW_OPEN.exec(text); m; m = ROW_OPEN.exec(text)) if (m.index + m[0].length > fresh) this.rows++;
    MERGE_OPEN.lastIndex = Math.max(0, fresh - CARRY);
    for (let m = MERGE_OPEN.exec(text); m; m = MERGE_OPEN.exec(text)) {
      const end = text.indexOf('>', m.index);
      if (end === -1) break; // incomplete: comes again with the carry
      if (end < fresh) continue; // seen last time
      const ref = /ref\s*=\s*["']([^"']+)["']/.exec(text.slice(m.index, end));
      const range = ref ? decodeRange(ref[1]) : null;
      if (!range || range.bottom <= range.top) continue;
      if (this.merges.length >= this.maxMerges) throw this.tooMany();
      this.merges.push(range);
    }
    this.carry = Buffer.from(buf.subarray(Math.max(0, buf.length - CARRY)));
  }
}
