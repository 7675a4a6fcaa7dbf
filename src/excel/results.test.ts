/** The result writer holds at most one write's text: it waits for the file to take it (drain). */
import { mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { WriteStream } from 'fs';
import ExcelJS from 'exceljs';
import { WorkbookArchive } from './archive';
import { LineWriter, ResultLine, writeResultWorkbook } from './results';
import { readSharedStrings, readSheetRows } from './sheet-xml';
import { decodeXstring } from './xstring';

describe('LineWriter', () => {
  it('a write resolves once the stream has handed its text to the file (backpressure)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linewriter-'));
    try {
      const w = new LineWriter(join(dir, 'out.jsonl'));
      const line = (row: number): ResultLine => ({
        file: 'f.xlsx', sheet: 'S', row, status: 'IMPORTED', error: null, errors: [], values: { a: 'x'.repeat(500) }, records: [], filled: [],
      });
      const out = (w as unknown as { out: WriteStream }).out;
      for (let k = 0; k < 3; k++) {
        await w.write(Array.from({ length: 2000 }, (_, i) => line(k * 2000 + i))); // ~1 MB, far over the 16 KB high-water mark
        expect(out.writableLength).toBe(0);
      }
      await w.close();
      expect(statSync(join(dir, 'out.jsonl')).size).toBeGreaterThan(3 * 2000 * 500);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('result workbook', () => {
  it('writes what XML cannot hold (U+FFFE, U+FFFF) as U+FFFD, so the workbook still opens; formulas are neutralized', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resultwb-'));
    try {
      const path = join(dir, 'r.xlsx');
      async function* lines(): AsyncGenerator<ResultLine> {
        yield { file: 'f.xlsx', sheet: 'S', row: 2, status: 'FAILED', error: '=1+1', errors: [], values: { 客户姓名: '王\uFFFE五\uFFFF', 型号: 'KFR' }, records: [], filled: [] };
      }
      await writeResultWorkbook(lines(), ['客户姓名', '型号'], 'S', path);
      const archive = await WorkbookArchive.open(path, 'r.xlsx');
      const rows = [];
      for await (const chunk of readSheetRows(archive, archive.info.sheets[0].path, await readSharedStrings(archive))) rows.push(...chunk);
      expect(rows[1].values.slice(1)).toEqual(['王\uFFFD五\uFFFD', 'KFR', '失败 FAILED', "'=1+1"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a carriage return and a literal "_x0041_" so that they read back as they were (Excel decodes _xHHHH_)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resultwb-'));
    try {
      const path = join(dir, 'r.xlsx');
      const values = { 故障描述: '空调不制冷\r\n外机不转', 型号: 'code _x0041_ and _x005F_ as typed' };
      async function* lines(): AsyncGenerator<ResultLine> {
        yield { file: 'f.xlsx', sheet: 'S', row: 2, status: 'IMPORTED', error: null, errors: [], values, records: [], filled: [] };
      }
      await writeResultWorkbook(lines(), ['故障描述', '型号'], 'S', path);
      const archive = await WorkbookArchive.open(path, 'r.xlsx');
      const rows = [];
      for await (const chunk of readSheetRows(archive, archive.info.sheets[0].path, await readSharedStrings(archive))) rows.push(...chunk);
      expect(rows[1].values.slice(1, 3)).toEqual([values.故障描述, values.型号]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('headers go through the guard too: `_xFFFF_` (decoded to U+FFFF) and `=HYPERLINK(...)` give a workbook that opens and reads back neutralized', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resultwb-'));
    try {
      const path = join(dir, 'r.xlsx');
      // the headers as the reader gives them from an uploaded sheet
      const headers = [decodeXstring('型号_xFFFF_'), '=HYPERLINK("http://evil.example","点我")', 'code _x0041_'];
      expect(headers[0]).toBe('型号\uFFFF');
      async function* lines(): AsyncGenerator<ResultLine> {
        yield { file: 'f.xlsx', sheet: 'S', row: 2, status: 'IMPORTED', error: null, errors: [], values: { [headers[0]]: 'KFR', [headers[1]]: 'x', [headers[2]]: 'y' }, records: [], filled: [] };
      }
      await writeResultWorkbook(lines(), headers, 'S', path);
      const archive = await WorkbookArchive.open(path, 'r.xlsx');
      const rows = [];
      for await (const chunk of readSheetRows(archive, archive.info.sheets[0].path, await readSharedStrings(archive))) rows.push(...chunk);
      expect(rows[0].values.slice(1, 4)).toEqual(['型号\uFFFD', '\'=HYPERLINK("http://evil.example","点我")', 'code _x0041_']);
      expect(rows[1].values.slice(1, 4)).toEqual(['KFR', 'x', 'y']);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.readFile(path);
      expect(wb.getWorksheet('S')!.getRow(1).getCell(2).value).toBe('\'=HYPERLINK("http://evil.example","点我")');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
