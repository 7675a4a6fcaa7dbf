/**
 * The worksheet reader on real and hand-written sheet XML: text that crosses inflate chunks,
 * the cell kinds SpreadsheetML has, and what some writers leave out (row and cell references).
 */
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
});
