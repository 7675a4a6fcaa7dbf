/**
 * The worksheet reader on real and hand-written sheet XML: text that crosses inflate chunks,
 * the cell kinds SpreadsheetML has, and what some writers leave out (row and cell references).
 */
import { execFileSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { scratchDir, writeWorkbook } from '../../tests/support/excel';
import { unzip, zip } from '../../tests/support/zip';
import { WorkbookArchive } from './archive';
import { SheetReader } from './reader';
import { readSharedStrings, readSheetRows, SheetRow } from './sheet-xml';
import { loadTemplate } from './template';

const dir = scratchDir();
afterAll(() => dir.remove());

async function rowsOf(path: string): Promise<SheetRow[]> {
  const archive = await WorkbookArchive.open(path, 'test.xlsx');
  const shared = await readSharedStrings(archive);
  const out: SheetRow[] = [];
  for await (const chunk of readSheetRows(archive, archive.info.sheets[0].path, shared)) out.push(...chunk);
  return out;
}

/** A workbook whose sheet1.xml (and shared strings, when given) are replaced by the given XML. */
async function handWritten(name: string, sheetData: string, sharedStrings?: string): Promise<string> {
  const base = await writeWorkbook(dir.file(`${name}.base.xlsx`), [{ name: 'S', rows: [['x']] }]);
  const parts = unzip(readFileSync(base));
  parts.find((p) => p.name === 'xl/worksheets/sheet1.xml')!.data = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${sheetData}</worksheet>`);
  if (sharedStrings !== undefined) {
    parts.find((p) => p.name === 'xl/sharedStrings.xml')!.data = Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${sharedStrings}</sst>`);
  }
  const path = dir.file(`${name}.xlsx`);
  writeFileSync(path, zip(parts));
  return path;
}

describe('sheet XML reader', () => {
  it('keeps Chinese text whole where it crosses an inflate chunk (exceljs 4.4 garbled ~1 row in 1,300)', async () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `客户姓名${'张王李赵刘陈杨黄'[i % 8]}${i}`);
    const path = await writeWorkbook(dir.file('names.xlsx'), [{
      name: '设备', rows: [['设备序列号', '客户姓名'], ...names.map((n, i) => [`SN-CN-${i}`, n])],
    }]);
    // The template's own reader, end to end: the importer sees exactly what was written.
    const reader = await SheetReader.open(path, 'names.xlsx', loadTemplate('devices'));
    const read: unknown[] = [];
    for await (const batch of reader.batches(2000)) for (const r of batch) read.push(r.fields.customerName);
    expect(read.length).toBe(names.length);
    const wrong = read.flatMap((v, i) => (v === names[i] ? [] : [[i, v]]));
    expect(wrong).toEqual([]);
  });

  it('decodes the _xHHHH_ escapes SpreadsheetML writes for characters XML cannot hold (Excel: a carriage return in a cell)', async () => {
    const path = await handWritten('xstring', `<sheetData>
      <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>
      <row r="2"><c r="A2" t="inlineStr"><is><t>a_x0009_b</t></is></c><c r="B2" t="str"><f>A1</f><v>x_x000D_y</v></c><c r="C2" t="s"><v>3</v></c></row>
    </sheetData>`, `<si><t xml:space="preserve">空调不制冷_x000D_
外机不转</t></si><si><t>literal _x005F_x0041_ stays</t></si><si><t>nul_x0000_ and half _xD83D_ of an emoji, whole _xD83D__xDE00_</t></si><si><t>no_xZZZZ_escape</t></si>`);
    const rows = await rowsOf(path);
    expect(rows[0].values.slice(1)).toEqual(['空调不制冷\r\n外机不转', 'literal _x0041_ stays', 'nul\uFFFD and half \uFFFD of an emoji, whole 😀']);
    expect(rows[1].values.slice(1)).toEqual(['a\tb', { formula: '', result: 'x\ry' }, 'no_xZZZZ_escape']);
  });

  it('reads the shared strings first, wherever the zip puts them (exceljs writes them after the sheet)', async () => {
    const path = await writeWorkbook(dir.file('order.xlsx'), [{ name: 'S', rows: [['甲', 1], ['乙', 2]] }]);
    const names = unzip(readFileSync(path)).map((p) => p.name);
    expect(names.indexOf('xl/sharedStrings.xml')).toBeGreaterThan(names.indexOf('xl/worksheets/sheet1.xml'));
    expect((await rowsOf(path)).map((r) => r.values.slice(1))).toEqual([['甲', 1], ['乙', 2]]);
  });

  it('reads every kind of cell SpreadsheetML has, by the value Excel last showed', async () => {
    const path = await handWritten('kinds', `<sheetData>
      <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>7</v></c></row>
      <row r="2"><c r="A2"><v>42.5</v></c><c r="B2" t="b"><v>1</v></c><c r="C2" t="b"><v>0</v></c><c r="D2" t="e"><v>#N/A</v></c></row>
      <row r="3"><c r="A3" t="inlineStr"><is><r><t>富</t></r><r><t xml:space="preserve">文本 </t></r></is></c><c r="B3" t="str"><v>a &amp;lt; b</v></c></row>
      <row r="4"><c r="A4"><f>1+1</f><v>2</v></c><c r="B4" t="str"><f>"x"&amp;"y"</f><v>xy</v></c><c r="C4"><f>A1</f></c><c r="D4" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>
      <row r="5"><c r="A5" t="d"><v>2025-06-18T00:00:00Z</v></c><c r="B5" s="3"/><c r="C5" t="inlineStr"><is><t><![CDATA[<raw>]]></t></is></c></row>
    </sheetData>`, `<si><t>plain</t></si><si><r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r><rPh sb="0" eb="1"><t>ふりがな</t></rPh></si>`);
    const rows = await rowsOf(path);
    expect(rows.map((r) => r.number)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0].values.slice(1)).toEqual(['plain', 'rich text', { sharedString: '7' }]);
    expect(rows[1].values.slice(1)).toEqual([42.5, true, false, { error: '#N/A' }]);
    // Entities are decoded once: a cell that says "&lt;" keeps saying it (exceljs decoded twice).
    expect(rows[2].values.slice(1)).toEqual(['富文本 ', 'a &lt; b']);
    expect(rows[3].values.slice(1)).toEqual([{ formula: '', result: 2 }, { formula: '', result: 'xy' }, { formula: '' }, { formula: '', result: { error: '#DIV/0!' } }]);
    expect(rows[4].values.slice(1)).toEqual([new Date('2025-06-18T00:00:00Z'), null, '<raw>']);
  });

  it('numbers rows and cells that leave out their reference, and reads prefixed element names', async () => {
    const path = await handWritten('norefs', `<x:sheetData xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
      <x:row><x:c t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c><x:c><x:v>1</x:v></x:c></x:row>
      <x:row r="5"><x:c r="C5"><x:v>3</x:v></x:c><x:c><x:v>4</x:v></x:c></x:row>
      <x:row><x:c><x:v>5</x:v></x:c></x:row>
    </x:sheetData>`);
    const rows = await rowsOf(path);
    expect(rows.map((r) => [r.number, r.values])).toEqual([
      [1, [undefined, 'a', 1]],
      [5, [undefined, undefined, undefined, 3, 4]],
      [6, [undefined, 5]],
    ]);
  });

  it('refuses a cell beyond column XFD and entity definitions (no expansion), naming the file and sheet', async () => {
    const far = await handWritten('far', `<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="ZZZZZZZ1"><v>2</v></c></row></sheetData>`);
    await expect(rowsOf(far)).rejects.toThrow(/cell ZZZZZZZ1 is beyond column XFD/);
    const reader = await SheetReader.open(far, 'far.xlsx', loadTemplate('devices'));
    await expect((async () => { for await (const b of reader.batches(10)) void b; })()).rejects.toMatchObject({
      code: 'CORRUPT', message: expect.stringMatching(/^far\.xlsx, sheet "S".*beyond column XFD/),
    });
    const lol = await handWritten('lol', `<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData>`);
    const parts = unzip(readFileSync(lol));
    const sheet = parts.find((p) => p.name === 'xl/worksheets/sheet1.xml')!;
    sheet.data = Buffer.from(sheet.data.toString('utf8').replace('<worksheet', '<!DOCTYPE worksheet [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><worksheet'));
    writeFileSync(lol, zip(parts));
    await expect(rowsOf(lol)).rejects.toThrow(/undefined entity/);
  });

  it('reads a workbook another writer made (LibreOffice Calc: formulas, a merged cell, full-width text, dates as serials)', async () => {
    // tests/fixtures/excel/libreoffice-devices.xlsx = `soffice --headless --convert-to xlsx libreoffice-devices.fods`
    const path = join(__dirname, '../../tests/fixtures/excel/libreoffice-devices.xlsx');
    const reader = await SheetReader.open(path, 'libreoffice-devices.xlsx', loadTemplate('devices'));
    const rows: Array<{ row: number; fields: Record<string, unknown>; errors: unknown[] }> = [];
    for await (const batch of reader.batches(100)) rows.push(...batch.map((r) => ({ row: r.row, fields: r.fields, errors: r.errors })));
    expect(rows).toEqual([
      { row: 2, errors: [], fields: expect.objectContaining({ serial: 'SN-LO-0001', phone: '+8613800138000', customerName: '张伟 & 李娜 <VIP>', purchaseDate: '2025-06-18', warrantyMonths: 36 }) },
      // Full-width serial, spaced phone as text, the name filled down from the merged D2:D3, a date typed as text.
      { row: 3, errors: [], fields: expect.objectContaining({ serial: 'SN-LO-0002', phone: '+8613800138000', customerName: '张伟 & 李娜 <VIP>', purchaseDate: '2025-07-01', warrantyMonths: 24 }) },
    ]);
  });

  it('reads a sheet wherever the workbook\'s relationships put it, and names a sheet the file does not have', async () => {
    const base = await writeWorkbook(dir.file('moved.base.xlsx'), [{ name: '设备', rows: [['设备序列号', '客户姓名'], ['SN-MOVED-1', '王五']] }]);
    const moved = (to: string, keepEntry: boolean) => {
      const parts = unzip(readFileSync(base));
      const rels = parts.find((p) => p.name === 'xl/_rels/workbook.xml.rels')!;
      rels.data = Buffer.from(rels.data.toString('utf8').replace('worksheets/sheet1.xml', to));
      if (keepEntry) parts.find((p) => p.name === 'xl/worksheets/sheet1.xml')!.name = `xl/${to}`;
      const path = dir.file(`moved-${keepEntry}.xlsx`);
      writeFileSync(path, zip(parts));
      return path;
    };
    const reader = await SheetReader.open(moved('data/devices.xml', true), 'moved.xlsx', loadTemplate('devices'));
    const read = [];
    for await (const b of reader.batches(10)) read.push(...b.map((r) => r.fields.customerName));
    expect(read).toEqual(['王五']);
    await expect(SheetReader.open(moved('worksheets/gone.xml', false), 'gone.xlsx', loadTemplate('devices'))).rejects.toMatchObject({
      code: 'CORRUPT', message: expect.stringMatching(/^gone\.xlsx, sheet "设备": the workbook lists the sheet at xl\/worksheets\/gone\.xml, which the file does not have/),
    });
  });

  it('malformed XML is an error, not a short sheet', async () => {
    const path = await handWritten('broken', `<sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></row></sheetData>`);
    await expect(rowsOf(path)).rejects.toThrow();
  });

  describe('merged cells, empty rows, dates and numbers read through the template', () => {
    const X = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
    const head = '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>设备序列号</x:t></x:is></x:c><x:c r="B1" t="inlineStr"><x:is><x:t>客户姓名</x:t></x:is></x:c>'
      + '<x:c r="C1" t="inlineStr"><x:is><x:t>购买日期</x:t></x:is></x:c><x:c r="D1" t="inlineStr"><x:is><x:t>保修期(月)</x:t></x:is></x:c><x:c r="E1" t="inlineStr"><x:is><x:t>备注</x:t></x:is></x:c></x:row>';
    const str = (ref: string, t: string) => `<x:c r="${ref}" t="inlineStr"><x:is><x:t>${t}</x:t></x:is></x:c>`;
    async function read(path: string, opts = {}) {
      const reader = await SheetReader.open(path, 'm.xlsx', loadTemplate('devices'), opts);
      const rows: Array<{ row: number; fields: Record<string, unknown>; errors: Array<{ code: string; message: string; column?: string }> }> = [];
      for await (const b of reader.batches(1000)) rows.push(...b.map((r) => ({ row: r.row, fields: r.fields, errors: r.errors })));
      return { reader, rows };
    }

    it('fills merged cells down and counts rows when the tags have a namespace prefix (x:row, x:mergeCell)', async () => {
      const path = await handWritten('prefixed-merge', `<x:sheetData ${X}>${head}
        <x:row r="2">${str('A2', 'SN-PM-1')}${str('B2', '王五')}</x:row>
        <x:row r="3">${str('A3', 'SN-PM-2')}</x:row>
        <x:row r="4">${str('A4', 'SN-PM-3')}</x:row>
      </x:sheetData><x:mergeCells ${X} count="1"><x:mergeCell ref="B2:B4"/></x:mergeCells>`);
      const { reader, rows } = await read(path);
      expect(reader.rowElements).toBe(4); // before: 0 (and the TOO_MANY_ROWS check never fired)
      expect(rows.map((r) => [r.row, r.fields.customerName, r.errors])).toEqual([[2, '王五', []], [3, '王五', []], [4, '王五', []]]);
      await expect(SheetReader.open(path, 'm.xlsx', loadTemplate('devices'), { sheet: { maxRows: 2 } })).rejects.toMatchObject({ code: 'TOO_MANY_ROWS' });
    });

    it('reads many merges in one pass, keeps only those spanning rows, and refuses (never drops) more than the limit', async () => {
      const n = 3000;
      let data = head;
      let merges = '';
      for (let k = 0; k < n; k++) {
        const r = 2 + 2 * k;
        data += `<x:row r="${r}">${str(`A${r}`, `SN-MM-${k}`)}${str(`B${r}`, `客户${k}`)}</x:row><x:row r="${r + 1}">${str(`A${r + 1}`, `SN-MM-${k}b`)}</x:row>`;
        merges += `<x:mergeCell ref="B${r}:B${r + 1}"/><x:mergeCell ref="E${r}:F${r}"/>`; // one vertical, one horizontal per pair
      }
      const path = await handWritten('many-merges', `<x:sheetData ${X}>${data}</x:sheetData><x:mergeCells ${X}>${merges}</x:mergeCells>`);
      const { rows } = await read(path);
      expect(rows.length).toBe(2 * n);
      expect(rows.filter((r, i) => r.fields.customerName !== `客户${Math.floor(i / 2)}` || r.errors.length)).toEqual([]);
      // The horizontal merges do not count toward the limit; one vertical merge more than it refuses the file.
      await expect(read(path, { archive: { maxMerges: n } })).resolves.toBeTruthy();
      await expect(read(path, { archive: { maxMerges: n - 1 } })).rejects.toMatchObject({
        code: 'UNSUPPORTED', sheet: 'S', message: expect.stringMatching(/more than 2,999 merged ranges that span rows/),
      });
    });

    it('a row is empty unless it has its own value in a column the template reads (or a value under no header)', async () => {
      const path = await handWritten('empties', `<x:sheetData ${X}>${head}
        <x:row r="2">${str('A2', 'SN-EM-1')}${str('B2', '赵六')}</x:row>
        <x:row r="3"><x:c r="C3" s="1"/></x:row>
        <x:row r="4"><x:c r="G4" t="str"><x:f>IF(A4="","",A4)</x:f><x:v></x:v></x:c></x:row>
        <x:row r="5"><x:c r="E5" t="e"><x:f>VLOOKUP(A5,Z:Z,1,0)</x:f><x:v>#N/A</x:v></x:c><x:c r="F5"><x:f>NOW()</x:f></x:c></x:row>
        <x:row r="6">${str('A6', 'SN-EM-2')}<x:c r="G6" t="str"><x:f>""</x:f><x:v></x:v></x:c><x:c r="E6" t="e"><x:v>#REF!</x:v></x:c></x:row>
        <x:row r="7">${str('E7', '只有备注')}</x:row>
        <x:row r="8">${str('H8', '无表头')}</x:row>
      </x:sheetData><x:mergeCells ${X}><x:mergeCell ref="B2:B3"/></x:mergeCells>`);
      const { rows } = await read(path);
      // Row 3 (only inside B2:B3), 4 (an empty formula result right of the headers), 5 (errors in
      // unread columns) and 7 (a column the template does not read) are empty; 8 has data under no header.
      expect(rows.map((r) => [r.row, r.errors.map((e) => e.code)])).toEqual([[2, []], [6, []], [8, ['MISSING_VALUE', 'NO_HEADER']]]);
    });

    it('a month count out of range names its column; a year is not a date', async () => {
      const num = (ref: string, v: number) => `<x:c r="${ref}"><x:v>${v}</x:v></x:c>`;
      const path = await handWritten('ranges', `<x:sheetData ${X}>${head}
        <x:row r="2">${str('A2', 'SN-RG-1')}${num('C2', 45292)}${num('D2', 99999)}</x:row>
        <x:row r="3">${str('A3', 'SN-RG-2')}${num('C3', 2026)}${num('D3', -12)}</x:row>
      </x:sheetData>`);
      const { rows } = await read(path);
      expect(rows.map((r) => r.errors)).toEqual([
        [{ code: 'OUT_OF_RANGE', message: '保修期(月) (column D): "99999" is out of range: 0 to 1200', column: 'D', header: '保修期(月)', field: 'warrantyMonths' }],
        [
          { code: 'INVALID_DATE', message: expect.stringMatching(/^购买日期 \(column C\): "2026" is a year, not a date/), column: 'C', header: '购买日期', field: 'purchaseDate' },
          { code: 'OUT_OF_RANGE', message: '保修期(月) (column D): "-12" is out of range: 0 to 1200', column: 'D', header: '保修期(月)', field: 'warrantyMonths' },
        ],
      ]);
    });

    it('a date cell (t="d") without an offset is the day written, whatever the server\'s time zone', async () => {
      const path = await handWritten('tdate', `<x:sheetData ${X}>${head}
        <x:row r="2">${str('A2', 'SN-TD-1')}<x:c r="C2" t="d"><x:v>2026-02-18T00:00:00</x:v></x:c></x:row>
        <x:row r="3">${str('A3', 'SN-TD-2')}<x:c r="C3" t="d"><x:v>2026-02-18T23:30:00</x:v></x:c></x:row>
        <x:row r="4">${str('A4', 'SN-TD-3')}<x:c r="C4" t="d"><x:v>2026-02-18</x:v></x:c></x:row>
      </x:sheetData>`);
      // jest gives each test file its own process.env, so TZ is set for a child node that reads the
      // sheet with these modules (transpiled on require by TypeScript itself).
      const script = `
        const ts = require('typescript');
        require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(require('fs').readFileSync(f, 'utf8'),
          { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, f);
        const { WorkbookArchive } = require('./archive.ts');
        const { readSharedStrings, readSheetRows } = require('./sheet-xml.ts');
        const { readCell, parseValue } = require('./cells.ts');
        (async () => {
          const a = await WorkbookArchive.open(process.argv[1], 'tdate.xlsx');
          const out = [];
          for await (const rows of readSheetRows(a, a.info.sheets[0].path, await readSharedStrings(a)))
            for (const r of rows) if (r.number > 1) out.push(parseValue({ field: 'd', header: 'D', type: 'date' }, readCell(r.values[3]), { date1904: false }));
          console.log(JSON.stringify(out));
        })().catch((e) => { console.error(e); process.exit(1); });`;
      const dates: unknown[] = [];
      for (const zone of ['Asia/Shanghai', 'America/Los_Angeles']) {
        const out = execFileSync(process.execPath, ['-e', script, path], { cwd: __dirname, env: { ...process.env, TZ: zone }, encoding: 'utf8' });
        dates.push(JSON.parse(out));
      }
      expect(dates).toEqual([['2026-02-18', '2026-02-18', '2026-02-18'], ['2026-02-18', '2026-02-18', '2026-02-18']]);
    });
  });
});
