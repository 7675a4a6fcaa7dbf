/**
 * The importer against a real database: every kind of bad file is refused with an error naming
 * file, sheet, row and column (where they apply) and leaves nothing behind; re-import changes
 * nothing; --atomic is all or nothing; rows are parsed the ways people write them.
 */
import { readFileSync, writeFileSync } from 'fs';
import ExcelJS from 'exceljs';
import { sqlOne, sqlRows } from '../db/sql';
import { MappingEngine } from '../mapping/engine';
import { TicketService } from '../tickets/ticket-service';
import { useTestDatabase } from '../../tests/support/databases';
import { scratchDir, tableCounts, writeWorkbook } from '../../tests/support/excel';
import { unzip, zip } from '../../tests/support/zip';
import { Merger } from '../sync/merge';
import { heapFlags, IMPORT_HEAP_GROWING_PERCENT } from './heap';
import { ExcelImporter, ImportSummary } from './importer';
import * as masterData from './master-data';
import { logger } from '../logging/logger';
import { SheetReader } from './reader';
import { claimRows } from './row-claims';
import { rowKey } from './row-key';
import { ResultLine, readLines, writeResultWorkbook } from './results';

const db = useTestDatabase();
let importer: ExcelImporter;
const dir = scratchDir();

beforeAll(async () => {
  importer = new ExcelImporter(db.orm, new MappingEngine(), new TicketService(db.orm));
});
afterAll(async () => {
  dir.remove();
});

const DEVICE_HEADERS = ['设备序列号', '型号', '客户电话', '客户姓名', '购买日期', '保修截止日期'];

async function run(file: string, template: string, opts: { atomic?: boolean; dryRun?: boolean; name?: string; batchSize?: number } = {}): Promise<{ s: ImportSummary; lines: ResultLine[] }> {
  const resultPath = `${file}.${Math.random().toString(36).slice(2)}.jsonl`;
  const s = await importer.run({
    template, path: file, fileName: opts.name ?? file.split('/').pop()!, atomic: opts.atomic, dryRun: opts.dryRun, batchSize: opts.batchSize,
    actor: { name: 'test', origin: 'test' }, resultPath,
  });
  const lines: ResultLine[] = [];
  for await (const l of readLines(resultPath)) lines.push(l);
  return { s, lines };
}

async function deviceWorkbook(name: string, rows: unknown[][]): Promise<string> {
  return writeWorkbook(dir.file(name), [{ name: '设备', rows: [DEVICE_HEADERS, ...rows] }]);
}

/** A refused file: the error names what it should, and not one row was written anywhere. */
async function expectRefused(file: string, template: string, expected: { code: string; sheet?: string | null; row?: number | null; column?: string | null; message: RegExp }) {
  const before = await tableCounts(db.orm);
  const { s } = await run(file, template);
  expect(s.status).toBe('FAILED');
  expect(s.committed).toBe(false);
  expect(s.error).toMatchObject({ code: expected.code, file: file.split('/').pop() });
  if (expected.sheet !== undefined) expect(s.error!.sheet).toBe(expected.sheet);
  if (expected.row !== undefined) expect(s.error!.row).toBe(expected.row);
  if (expected.column !== undefined) expect(s.error!.column).toBe(expected.column);
  expect(s.error!.message).toMatch(expected.message);
  expect(s.error!.message.startsWith(file.split('/').pop()!)).toBe(true);
  expect(await tableCounts(db.orm)).toEqual(before);
  return s;
}

describe('bad files', () => {
  it('a CSV renamed to .xlsx is named as text', async () => {
    const file = dir.file('csv.xlsx');
    writeFileSync(file, '设备序列号,型号\nSN1,KFR\n');
    await expectRefused(file, 'devices', { code: 'NOT_XLSX', sheet: null, message: /not an Excel \.xlsx workbook.*CSV/ });
  });

  it('a truncated zip is damaged', async () => {
    const good = await deviceWorkbook('good-for-truncate.xlsx', [['SN1', 'KFR', '13800138000', '王', '2025-01-01', null]]);
    const file = dir.file('truncated.xlsx');
    const bytes = readFileSync(good);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expectRefused(file, 'devices', { code: 'CORRUPT', message: /damaged/ });
  });

  it('deflate data that does not inflate is damaged, naming the entry', async () => {
    const parts = unzip(readFileSync(await deviceWorkbook('good-for-corrupt.xlsx', [['SN1', 'KFR', '13800138000', '王', null, null]])));
    const zipped = zip(parts);
    const sheetAt = zipped.indexOf(Buffer.from('xl/worksheets/sheet1.xml')) + 'xl/worksheets/sheet1.xml'.length;
    for (let i = sheetAt + 2; i < sheetAt + 40; i++) zipped[i] ^= 0xff;
    const file = dir.file('corrupt-deflate.xlsx');
    writeFileSync(file, zipped);
    await expectRefused(file, 'devices', { code: 'CORRUPT', message: /xl\/worksheets\/sheet1\.xml/ });
  });

  it('a zip bomb is refused by its ratio before anything is inflated', async () => {
    const parts = unzip(readFileSync(await deviceWorkbook('good-for-bomb.xlsx', [['SN1', 'KFR', '13800138000', '王', null, null]])));
    const sheet = parts.find((p) => p.name === 'xl/worksheets/sheet1.xml')!;
    sheet.data = Buffer.concat([sheet.data, Buffer.alloc(30 * 1024 * 1024, 0x20)]);
    const file = dir.file('bomb.xlsx');
    writeFileSync(file, zip(parts));
    await expectRefused(file, 'devices', { code: 'ZIP_BOMB', message: /unpacks \d+ times larger.*zip bomb/ });
  });

  it('a zip bomb that lies about its size in the directory is stopped while inflating', async () => {
    const parts = unzip(readFileSync(await deviceWorkbook('good-for-liar.xlsx', [['SN1', 'KFR', '13800138000', '王', null, null]])));
    const sheet = parts.find((p) => p.name === 'xl/worksheets/sheet1.xml')!;
    sheet.claimSize = 100;
    const file = dir.file('liar.xlsx');
    writeFileSync(file, zip(parts));
    await expectRefused(file, 'devices', { code: 'ZIP_BOMB', message: /xl\/worksheets\/sheet1\.xml unpacks to more than/ });
  });

  it('a password-protected workbook (CFB with EncryptionInfo) says so', async () => {
    const file = dir.file('protected.xlsx');
    const body = Buffer.alloc(4096);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(body, 0);
    Buffer.from('EncryptionInfo', 'utf16le').copy(body, 1200);
    Buffer.from('EncryptedPackage', 'utf16le').copy(body, 1400);
    writeFileSync(file, body);
    await expectRefused(file, 'devices', { code: 'ENCRYPTED', sheet: null, message: /password-protected/ });
  });

  it('a legacy .xls (CFB with a Workbook stream) asks for .xlsx', async () => {
    const file = dir.file('legacy.xlsx');
    const body = Buffer.alloc(4096);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(body, 0);
    Buffer.from('Workbook', 'utf16le').copy(body, 1200);
    writeFileSync(file, body);
    await expectRefused(file, 'devices', { code: 'LEGACY_XLS', message: /97-2003.*save it as \.xlsx/ });
  });

  it('a sheet with a million empty styled rows is refused at the row where the empty run starts', async () => {
    const parts = unzip(readFileSync(await deviceWorkbook('good-for-empty.xlsx', [['SN1', 'KFR', '13800138000', '王', null, null]])));
    const sheet = parts.find((p) => p.name === 'xl/worksheets/sheet1.xml')!;
    const xml = sheet.data.toString('utf8');
    const rows: string[] = [];
    for (let r = 3; r < 1_000_003; r++) rows.push(`<row r="${r}"><c r="A${r}" s="0"/><c r="B${r}" s="0"/></row>`);
    rows.push('<row r="1000003"><c r="A1000003" t="inlineStr"><is><t>SNLAST</t></is></c></row>');
    sheet.data = Buffer.from(xml.replace('</sheetData>', `${rows.join('')}</sheetData>`));
    const file = dir.file('empty-rows.xlsx');
    writeFileSync(file, zip(parts));
    await expectRefused(file, 'devices', { code: 'TOO_MANY_EMPTY_ROWS', sheet: '设备', row: 3, message: /rows 3–10003 are empty/ });
  });

  it('too many columns: the header row, and a value far to the right in a data row', async () => {
    const wide = Array.from({ length: 250 }, (_, i) => (i < DEVICE_HEADERS.length ? DEVICE_HEADERS[i] : `备注${i}`));
    await expectRefused(await writeWorkbook(dir.file('wide-header.xlsx'), [{ name: '设备', rows: [wide] }]), 'devices', {
      code: 'TOO_MANY_COLUMNS', sheet: '设备', row: 1, column: 'GS', message: /header row uses 250 columns; at most 200/,
    });
    const far: unknown[] = ['SN9', 'KFR', '13800138000', '王'];
    far[299] = 'x';
    await expectRefused(await deviceWorkbook('wide-row.xlsx', [['SN8', 'KFR', '13800138000', '王', null, null], far]), 'devices', {
      code: 'TOO_MANY_COLUMNS', sheet: '设备', row: 3, column: 'KN', message: /column KN is beyond the 200 columns/,
    });
  });

  it('missing required headers name the header row and what is accepted instead', async () => {
    const file = await writeWorkbook(dir.file('missing.xlsx'), [{ name: '设备', rows: [['型号', '客户电话'], ['KFR', '13800138000']] }]);
    await expectRefused(file, 'devices', { code: 'MISSING_HEADERS', sheet: '设备', row: 1, message: /missing required column: 设备序列号 \(also accepted: 序列号/ });
  });

  it('duplicate headers (the same text, or two names for one column) name both columns', async () => {
    await expectRefused(await writeWorkbook(dir.file('dup1.xlsx'), [{ name: '设备', rows: [['设备序列号', '型号', '型号'], ['SN1', 'a', 'b']] }]), 'devices', {
      code: 'DUPLICATE_HEADER', sheet: '设备', row: 1, column: 'C', message: /"型号" appears twice \(columns B and C\)/,
    });
    await expectRefused(await writeWorkbook(dir.file('dup2.xlsx'), [{ name: '设备', rows: [['设备序列号', '客户电话', '手机'], ['SN1', '13800138000', '13800138000']] }]), 'devices', {
      code: 'DUPLICATE_HEADER', sheet: '设备', row: 1, column: 'C', message: /"客户电话" \(column B\) and "手机" \(column C\) both mean 客户电话/,
    });
  });

  it('a workbook without the template sheet lists the sheets it has', async () => {
    const file = await writeWorkbook(dir.file('sheets.xlsx'), [{ name: 'Sheet1', rows: [DEVICE_HEADERS] }, { name: '说明', rows: [['x']] }]);
    await expectRefused(file, 'devices', { code: 'SHEET_NOT_FOUND', message: /no sheet "设备"; the workbook has "Sheet1", "说明"/ });
  });

  it('rows that repeat: the repeat is reported with the row it repeats and imported once', async () => {
    const before = await tableCounts(db.orm);
    const file = await deviceWorkbook('repeats.xlsx', [
      ['SNREP1', 'KFR', '13800138001', '王一', null, null],
      ['SNREP2', 'KFR', '13800138001', '王一', null, null],
      ['SNREP1', 'KFR', '13800138001', '王一', null, null],
      ['snrep2', 'OTHER', '13800138001', '王一', null, null],
    ]);
    const { s, lines } = await run(file, 'devices');
    expect(s).toMatchObject({ status: 'PARTIAL', imported: 2, failed: 2 });
    expect(lines[2]).toMatchObject({ row: 4, status: 'FAILED', errors: [{ code: 'DUPLICATE_ROW' }] });
    expect(lines[2].error).toMatch(/repeats row 2/);
    expect(lines[3]).toMatchObject({ row: 5, status: 'FAILED', errors: [{ code: 'DUPLICATE_KEY', column: 'A', header: '设备序列号' }] });
    expect(lines[3].error).toMatch(/设备序列号 \(column A\): SNREP2 is also in row 3/);
    const after = await tableCounts(db.orm);
    expect(after.device - before.device).toBe(2);
    expect(after.customer - before.customer).toBe(1);
  });
});

describe('rows', () => {
  it('parses dates as serials or text, phones stored as numbers, full-width characters, formulas by cached value, merged cells', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('设备');
    ws.addRow(DEVICE_HEADERS);
    ws.addRow(['ｓｎ－Ａ１', 'KFR-72LW', 13800138002, '张三', 45292, '2027年1月1日']);
    ws.addRow(['SN-A2', { formula: 'B2', result: 'KFR-FORMULA' }, '１３８ ００１３ ８００２', '张三', '2024/1/2', 20270102]);
    ws.addRow(['SN-A3', 'KFR', null, null, { formula: 'NOW()' }, null]);
    ws.addRow(['SN-A4', 'KFR', '+86-138-0013-8003', '李四', null, null]);
    ws.addRow(['SN-A5', 'KFR', null, null, null, null]);
    ws.mergeCells('C5:C6');
    ws.mergeCells('D5:D6');
    const file = dir.file('parsing.xlsx');
    await wb.xlsx.writeFile(file);
    const { s, lines } = await run(file, 'devices');
    expect(s).toMatchObject({ status: 'PARTIAL', imported: 4, failed: 1 });
    const dev = (l: ResultLine) => (l.records as any[]).find((r) => r.entity === 'device');
    expect(dev(lines[0])).toMatchObject({ serial: 'SN-A1', purchaseDate: '2024-01-01', warrantyEnd: '2027-01-01', owner: { phone: '+8613800138002' } });
    expect(dev(lines[1])).toMatchObject({ serial: 'SN-A2', model: 'KFR-FORMULA', purchaseDate: '2024-01-02', warrantyEnd: '2027-01-02', owner: { phone: '+8613800138002' } });
    expect(lines[2]).toMatchObject({ row: 4, status: 'FAILED', errors: [{ code: 'NO_CACHED_VALUE', column: 'E' }] });
    // C5:C6 and D5:D6 are merged: row 6 gets the owner of row 5.
    expect(dev(lines[4])).toMatchObject({ serial: 'SN-A5', owner: { phone: '+8613800138003' } });
    const owner = await sqlOne<{ phone: string }>(db.orm, `select c.phone from device d join customer c on c.id = d.owner_id where d.serial = 'SN-A5'`);
    expect(owner!.phone).toBe('+8613800138003');
  });

  it('lineage names the file and row; the audit log has the change', async () => {
    const file = await deviceWorkbook('lineage.xlsx', [['SN-LIN', 'KFR-LIN', '13800138004', '赵五', null, null]]);
    await run(file, 'devices');
    const d = await sqlOne<{ lineage: any }>(db.orm, `select junction_lineage(lineage) as lineage from device where serial = 'SN-LIN'`);
    expect(d!.lineage.model).toMatchObject({ system: 'excel', stream: 'devices', externalId: 'lineage.xlsx#设备!2' });
    const links = await sqlRows(db.orm, `select * from source_link where system = 'excel' and external_id = 'lineage.xlsx#设备!2'`);
    expect(links.map((l: any) => l.entity_type).sort()).toEqual(['customer', 'device']);
    // A new device is one creation row holding every value set.
    const audit = await sqlRows<any>(db.orm, `select * from audit_log where origin like '%lineage.xlsx#设备!2' and entity_type = 'device'`);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ field: '(created)', before: null, after: { serial: 'SN-LIN', model: 'KFR-LIN' } });
  });

  it('fills what is missing from master data (serial → model, warranty, owner; phone → name)', async () => {
    const master = await run(await deviceWorkbook('master.xlsx', [['SN-MASTER', 'KFR-MASTER', '13800138005', '钱六', '2025-01-02', '2028-01-02']]), 'devices');
    expect({ status: master.s.status, error: master.s.error, lines: master.lines.map((l) => l.error) }).toEqual({ status: 'SUCCEEDED', error: null, lines: [null] });
    const file = await writeWorkbook(dir.file('fill.xlsx'), [{ name: '设备', rows: [['设备序列号', '客户姓名'], ['SN-MASTER', null]] }]);
    const { lines } = await run(file, 'devices', { dryRun: true });
    expect(lines[0].filled.sort()).toEqual(['customerName', 'model', 'phone', 'purchaseDate', 'warrantyEnd']);
    expect(lines[0].status).toBe('VALID');
    expect((lines[0].records as any[])[1]).toMatchObject({ entity: 'device', model: 'KFR-MASTER', warrantyEnd: '2028-01-02', owner: { phone: '+8613800138005' } });
  });
});

describe('batches mapped ahead of their merge', () => {
  // A batch is filled and mapped while the one before it is merged; the fill must still see what
  // the earlier batches of the file wrote (they are not committed yet).
  it('a row is filled from the customer an earlier batch of the same file created', async () => {
    const file = await deviceWorkbook('ahead-created.xlsx', [
      ['SN-AHEAD1', 'M', '13800138101', '新客户', null, null],
      ['SN-AHEAD2', 'M', '13800138102', '别人', null, null],
      ['SN-AHEAD3', 'M', '13800138101', null, null, null],
    ]);
    const { s, lines } = await run(file, 'devices', { batchSize: 2 });
    expect({ status: s.status, imported: s.imported, error: s.error }).toEqual({ status: 'SUCCEEDED', imported: 3, error: null });
    expect(lines[2]).toMatchObject({ row: 4, status: 'IMPORTED', filled: ['customerName'] });
    expect(lines[2].records[0]).toEqual({ entity: 'customer', phone: '+8613800138101', name: '新客户' });
  });

  it('only rows whose serial or phone an earlier batch wrote are filled again inside the transaction', async () => {
    const fills = jest.spyOn(masterData, 'fillFromMasterData');
    try {
      const file = await deviceWorkbook('ahead-filter.xlsx', [
        ['SN-BLOOM1', 'M', '13800138201', '布一', null, null],
        ['SN-BLOOM2', 'M', '13800138202', '布二', null, null],
        ['SN-BLOOM3', 'M', '13800138201', null, null, null],
        ['SN-BLOOM4', 'M', '13800138203', '布三', null, null],
      ]);
      const { s, lines } = await run(file, 'devices', { batchSize: 2 });
      expect(s).toMatchObject({ status: 'SUCCEEDED', imported: 4 });
      // The customer row 2 created (same file, not committed yet) fills row 4's name.
      expect(lines[2]).toMatchObject({ row: 4, filled: ['customerName'], records: [{ entity: 'customer', name: '布一' }, { entity: 'device', serial: 'SN-BLOOM3' }] });
      // Fills inside the file's transaction (on its EntityManager, not the ORM): the second batch's
      // row 4 only; row 5's serial and phone are new to the file, it keeps the fill read ahead.
      const inside = fills.mock.calls.filter((c) => c[0] !== db.orm).map((c) => c[2].map((r) => r.fields.serial));
      expect(inside).toEqual([['SN-BLOOM3']]);
    } finally {
      fills.mockRestore();
    }
  });

  it('a row is filled with the name an earlier batch of the same file gave the customer', async () => {
    await run(await deviceWorkbook('ahead-old.xlsx', [['SN-AHEAD4', 'M', '13800138103', '旧名', null, null]]), 'devices');
    const file = await deviceWorkbook('ahead-renamed.xlsx', [
      ['SN-AHEAD5', 'M', '13800138103', '新名', null, null],
      ['SN-AHEAD6', 'M', '13800138103', null, null, null],
    ]);
    const { s, lines } = await run(file, 'devices', { batchSize: 1 });
    expect(s).toMatchObject({ status: 'SUCCEEDED', imported: 2 });
    const name = (await sqlOne<{ name: string }>(db.orm, `select name from customer where phone = '+8613800138103'`))!.name;
    expect(name).toBe('新名');
    expect(lines[1]).toMatchObject({ row: 3, filled: ['customerName'], records: [{ entity: 'customer', name: '新名' }, { entity: 'device', serial: 'SN-AHEAD6' }] });
  });

  // Memory: the reader is pulled, not pushed; a merge slower than the read must not let parsed
  // batches pile up. When batch j comes out of the reader, batches 0..j-2 are merged (j-1 may be
  // merging), whatever the speeds.
  it('the reader never runs more than one batch ahead of the merge', async () => {
    const rows = Array.from({ length: 8 }, (_, i) => [`SN-BOUND${i}`, 'M', `1380013820${i}`, `客户${i}`, null, null]);
    const file = await deviceWorkbook('bounded.xlsx', rows);
    let merged = 0;
    const mergedAtRead: number[] = [];
    const merge = Merger.prototype.merge;
    const batches = SheetReader.prototype.batches;
    const mergeSpy = jest.spyOn(Merger.prototype, 'merge').mockImplementation(async function (this: Merger, ...a: Parameters<Merger['merge']>) {
      await new Promise((resolve) => setTimeout(resolve, 20)); // a merge slower than the read
      const r = await merge.apply(this, a);
      merged++;
      return r;
    });
    const readSpy = jest.spyOn(SheetReader.prototype, 'batches').mockImplementation(async function* (this: SheetReader, size: number) {
      for await (const b of batches.call(this, size)) {
        mergedAtRead.push(merged);
        yield b;
      }
    });
    try {
      const { s } = await run(file, 'devices', { batchSize: 1 });
      expect(s).toMatchObject({ status: 'SUCCEEDED', imported: 8 });
    } finally {
      mergeSpy.mockRestore();
      readSpy.mockRestore();
    }
    expect(merged).toBe(8);
    expect(mergedAtRead).toHaveLength(8);
    mergedAtRead.forEach((m, j) => expect(m).toBeGreaterThanOrEqual(j - 1));
  });

  it('an import applies its heap setting while it runs and gives V8 its own back after', async () => {
    const set = jest.spyOn(heapFlags, 'set').mockImplementation(() => undefined);
    try {
      await run(await deviceWorkbook('heap.xlsx', [['SN-HEAP1', 'M', '13800138301', '王', null, null]]), 'devices');
      expect(set.mock.calls).toEqual([[`--heap-growing-percent=${IMPORT_HEAP_GROWING_PERCENT}`], ['--heap-growing-percent=0']]);
    } finally {
      set.mockRestore();
    }
  });

  it('a file refused part way still lists the rows read before it, NOT_IMPORTED', async () => {
    const before = await tableCounts(db.orm);
    const far: unknown[] = ['SN-AHEAD11', 'KFR', '13800138105', '乙'];
    far[299] = 'x';
    const file = await deviceWorkbook('ahead-refused.xlsx', [['SN-AHEAD9', 'M', '13800138105', '乙', null, null], ['SN-AHEAD10', 'M', '13800138105', '乙', null, null], far]);
    const { s, lines } = await run(file, 'devices', { batchSize: 1 });
    expect(s).toMatchObject({ status: 'FAILED', committed: false, error: { code: 'TOO_MANY_COLUMNS', row: 4 } });
    expect(lines.map((l) => [l.row, l.status])).toEqual([[2, 'NOT_IMPORTED'], [3, 'NOT_IMPORTED']]);
    expect(await tableCounts(db.orm)).toEqual(before);
  });

  it('rows imported before are UNCHANGED without being filled or mapped again; --atomic imports the new rows next to them', async () => {
    const first = await deviceWorkbook('ahead-first.xlsx', [['SN-AHEAD7', 'M', '13800138104', '甲', null, null]]);
    expect((await run(first, 'devices')).s).toMatchObject({ imported: 1 });
    const file = await deviceWorkbook('ahead-more.xlsx', [['SN-AHEAD7', 'M', '13800138104', '甲', null, null], ['SN-AHEAD8', 'M', '13800138104', '甲', null, null]]);
    const { s, lines } = await run(file, 'devices', { atomic: true });
    expect(s).toMatchObject({ status: 'SUCCEEDED', committed: true, imported: 1, unchanged: 1 });
    expect(lines.map((l) => [l.status, l.records.length])).toEqual([['UNCHANGED', 0], ['IMPORTED', 2]]);
    expect(await sqlOne(db.orm, `select serial from device where serial = 'SN-AHEAD8'`)).toEqual({ serial: 'SN-AHEAD8' });
  });
});

describe('re-import, atomic, dry run', () => {
  it('importing the same file again changes nothing (row hash), even with cells written differently', async () => {
    const file = await deviceWorkbook('again.xlsx', [['SN-AG1', 'M1', '13800138006', '孙七', null, null], ['SN-AG2', 'M2', '13800138006', '孙七', null, null]]);
    const first = await run(file, 'devices');
    expect(first.s).toMatchObject({ status: 'SUCCEEDED', imported: 2 });
    const before = await tableCounts(db.orm);
    const again = await run(file, 'devices');
    expect(again.s).toMatchObject({ status: 'SUCCEEDED', imported: 0, unchanged: 2 });
    const respelled = await deviceWorkbook('again2.xlsx', [['sn-ag1', 'M1', '138 0013 8006', '孙七', null, null]]);
    const again2 = await run(respelled, 'devices');
    expect(again2.lines.map((l) => [l.status, l.errors])).toEqual([['UNCHANGED', []]]); // says why when it is not
    expect(again2.s).toMatchObject({ imported: 0, unchanged: 1 });
    expect(await tableCounts(db.orm)).toEqual(before);
  });

  it('claims rows by row_key, the first 64 bits of the row hash; a re-import finds them by key', async () => {
    const file = await deviceWorkbook('keyed.xlsx', [['SN-KEY1', 'M1', '13800138020', '钱一', null, null], ['SN-KEY2', 'M1', '13800138020', '钱一', null, null]]);
    expect((await run(file, 'devices')).s).toMatchObject({ imported: 2 });
    // The migration's formula (for rows claimed before it) gives the same key as row-key.ts.
    const rows = await sqlRows<{ row_key: string; row_hash: string; migrated: string }>(db.orm,
      `select row_key::text as row_key, row_hash, (('x' || substr(row_hash, 1, 16))::bit(64)::bigint)::text as migrated from excel_row where file_name = 'keyed.xlsx' order by row_number`);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect([r.row_key, r.migrated]).toEqual([rowKey(r.row_hash), rowKey(r.row_hash)]);
    const before = await tableCounts(db.orm);
    expect((await run(file, 'devices')).s).toMatchObject({ status: 'SUCCEEDED', imported: 0, unchanged: 2 });
    expect(await tableCounts(db.orm)).toEqual(before);
  });

  it('a row whose key is taken by another hash is ROW_KEY_COLLISION, naming file, sheet and row; the other rows import', async () => {
    const first = await deviceWorkbook('collide.xlsx', [['SN-COL1', 'M1', '13800138021', '孔一', null, null]]);
    expect((await run(first, 'devices')).s).toMatchObject({ imported: 1 });
    // The same key stored with another hash: what a true 64-bit collision looks like.
    const claim = (await sqlOne<{ row_key: string; row_hash: string }>(db.orm, `select row_key::text as row_key, row_hash from excel_row where file_name = 'collide.xlsx'`))!;
    await sqlRows(db.orm, `update excel_row set row_hash = ?, file_name = 'other.xlsx', row_number = 7 where row_key = ?`, [`${claim.row_hash.slice(0, 16)}${'0'.repeat(16)}`, claim.row_key]);
    const file = await deviceWorkbook('collide2.xlsx', [['SN-COL1', 'M1', '13800138021', '孔一', null, null], ['SN-COL2', 'M1', '13800138021', '孔一', null, null]]);
    const { s, lines } = await run(file, 'devices');
    expect(s).toMatchObject({ status: 'PARTIAL', imported: 1, failed: 1 });
    expect(lines[0]).toMatchObject({ row: 2, status: 'FAILED', errors: [{ code: 'ROW_KEY_COLLISION' }] });
    expect(lines[0].error).toMatch(/^collide2\.xlsx, sheet "设备", row 2: .*row 7 of "other\.xlsx"/);
    expect(lines[1]).toMatchObject({ row: 3, status: 'IMPORTED' });
  });

  it('a collision found when the claim is written (inside the transaction) is ROW_KEY_COLLISION too', async () => {
    const em = db.orm.em.fork();
    await em.begin();
    try {
      const where = { template: 'devices', file: 'claim.xlsx', sheet: '设备' };
      const hash = 'abcdef0123456789'.repeat(2);
      expect(await claimRows(em, where, null, 'IMPORTED', [{ hash, row: 2 }])).toEqual(new Set([hash]));
      expect(await claimRows(em, where, null, 'IMPORTED', [{ hash, row: 3 }])).toEqual(new Set());
      await expect(claimRows(em, where, null, 'IMPORTED', [{ hash: `${hash.slice(0, 16)}${'1'.repeat(16)}`, row: 4 }]))
        .rejects.toMatchObject({ code: 'ROW_KEY_COLLISION', file: 'claim.xlsx', sheet: '设备', row: 4 });
    } finally {
      await em.rollback();
    }
  });

  it('--atomic: one bad row and nothing of the file is imported', async () => {
    const before = await tableCounts(db.orm);
    const file = await deviceWorkbook('atomic.xlsx', [['SN-AT1', 'M', '13800138007', '周八', null, null], ['SN-AT2', 'M', '13800138007', '周八', 'not a date', null]]);
    const { s, lines } = await run(file, 'devices', { atomic: true });
    expect(s).toMatchObject({ status: 'FAILED', committed: false, imported: 0, failed: 1 });
    expect(s.error).toMatchObject({ code: 'ROWS_FAILED' });
    expect(lines.map((l) => l.status)).toEqual(['NOT_IMPORTED', 'FAILED']);
    expect(lines[1].errors[0]).toMatchObject({ column: 'E', header: '购买日期' });
    expect(await tableCounts(db.orm)).toEqual(before);
    // Without --atomic the valid row goes in.
    expect((await run(file, 'devices')).s).toMatchObject({ status: 'PARTIAL', imported: 1, failed: 1 });
  });

  it('--dry-run writes nothing', async () => {
    const before = await tableCounts(db.orm);
    const { s, lines } = await run(await deviceWorkbook('dry.xlsx', [['SN-DRY', 'M', '13800138008', '吴九', null, null]]), 'devices', { dryRun: true });
    expect(s).toMatchObject({ status: 'SUCCEEDED', committed: false, imported: 1 });
    expect(lines[0].status).toBe('VALID');
    expect(await tableCounts(db.orm)).toEqual(before);
  });
});

describe('tickets and customers', () => {
  it('ticket rows create tickets through the ticket service, once', async () => {
    await run(await deviceWorkbook('ticket-master.xlsx', [['SN-TK1', 'KFR-TK', '13800138009', '郑十', null, '2029-01-01']]), 'devices');
    const file = await writeWorkbook(dir.file('tickets.xlsx'), [{ name: '工单', rows: [
      ['设备序列号', '客户电话', '故障描述', '优先级', '一级分类'],
      ['SN-TK1', null, '不制冷', '紧急', '空调'],
      [null, '13800138009', '漏水', 'P3', null],
      [null, '13900000000', '噪音', null, null],
      ['SN-NONE', null, '不开机', null, null],
      ['SN-TK11', null, '不开机', null, null],
    ] }]);
    const { s, lines } = await run(file, 'tickets');
    expect(s).toMatchObject({ status: 'PARTIAL', imported: 2, failed: 3 });
    expect(lines[0]).toMatchObject({ status: 'IMPORTED', filled: expect.arrayContaining(['model', 'phone', 'customerName']) });
    expect(lines[0].ticket).toMatch(/^T\d{8}-\d{4}$/);
    expect(lines[2].error).toMatch(/客户电话 \(column B\): no customer with phone \+8613900000000/);
    expect(lines[3].error).toMatch(/设备序列号 \(column A\): no device SN-NONE in master data$/);
    // The same check as createTicket: an unknown serial gets the closest known ones.
    expect(lines[4].errors[0]).toMatchObject({ code: 'UNKNOWN_SERIAL', field: 'serial' });
    expect(lines[4].error).toMatch(/no device SN-TK11 in master data; closest known serials: SN-TK1 \(/);
    const t = await sqlOne<any>(db.orm, `select t.priority, t.category_l1, t.lineage, (select count(*) from ticket_event e where e.ticket_id = t.id) as events,
      (select origin from audit_log a where a.entity_type = 'ticket' and a.entity_id = t.id limit 1) as origin from ticket t where number = ?`, [lines[0].ticket]);
    expect(t).toMatchObject({ priority: 'P0', category_l1: '空调', origin: 'excel:tickets.xlsx#工单!2' });
    expect(Number(t.events)).toBe(1);
    expect(t.lineage.fault).toMatchObject({ system: 'excel', externalId: 'tickets.xlsx#工单!2' });
    const count = (await tableCounts(db.orm)).ticket;
    const again = await run(file, 'tickets');
    expect(again.s).toMatchObject({ imported: 0, unchanged: 2, failed: 3 });
    expect(again.lines[0].ticket).toBe(lines[0].ticket);
    expect((await tableCounts(db.orm)).ticket).toBe(count);
  });

  it('a device import re-enriches the open tickets of the devices it changes', async () => {
    const before = await sqlOne<any>(db.orm, `select t.id, t.derived from ticket t join device d on d.id = t.device_id where d.serial = 'SN-TK1' order by t.id limit 1`);
    expect(before!.derived.warranty).toMatchObject({ status: 'IN_WARRANTY', end: '2029-01-01' });
    await run(await deviceWorkbook('ticket-master-2.xlsx', [['SN-TK1', 'KFR-TK', '13800138009', '郑十', null, '2024-01-01']]), 'devices');
    const after = await sqlOne<any>(db.orm, `select derived, derived_lineage from ticket where id = ?`, [before!.id]);
    expect(after!.derived.warranty).toMatchObject({ status: 'OUT_OF_WARRANTY', end: '2024-01-01' });
    expect(after!.derived_lineage.find((l: any) => l.value === 'warranty')).toMatchObject({ system: 'excel', externalId: 'ticket-master-2.xlsx#设备!2' });
    const events = await sqlRows<any>(db.orm, `select actor, origin, changes from ticket_event where ticket_id = ? and type = 'ENRICHED'`, [before!.id]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'test', origin: 'excel:ticket-master-2.xlsx' });
    expect(events[0].changes.warranty.after).toMatchObject({ status: 'OUT_OF_WARRANTY' });
  });

  it('--atomic tickets: a row the ticket service refuses rolls back every ticket', async () => {
    const before = await tableCounts(db.orm);
    const file = await writeWorkbook(dir.file('tickets-atomic.xlsx'), [{ name: '工单', rows: [
      ['客户电话', '故障描述'], ['13800138009', '一'], ['13800138009', '二'], ['13800138009', ''],
    ] }]);
    const { s, lines } = await run(file, 'tickets', { atomic: true });
    expect(s).toMatchObject({ status: 'FAILED', imported: 0, failed: 1 });
    expect(lines.map((l) => l.status)).toEqual(['NOT_IMPORTED', 'NOT_IMPORTED', 'FAILED']);
    expect(lines[2].error).toMatch(/故障描述 \(column B\) is empty; it is required/);
    expect(await tableCounts(db.orm)).toEqual(before);
  });

  it('customers: the same identity resolution and survivorship as sync (CRM name wins over Excel)', async () => {
    await sqlRows(db.orm, `insert into customer (phone, name, lineage) values ('+8613800138010', 'CRM 名字', ?::jsonb)`,
      [JSON.stringify({ name: { system: 'crm', stream: 'accounts', externalId: 'A1', at: '2026-01-01T00:00:00Z' } })]);
    const file = await writeWorkbook(dir.file('customers.xlsx'), [{ name: '客户', rows: [['客户电话', '客户姓名', '地区', '客户等级'], ['13800138010', 'Excel 名字', '华南', '金卡']] }]);
    const { s, lines } = await run(file, 'customers');
    expect(s.status).toBe('SUCCEEDED');
    expect(lines[0].records).toEqual([{ entity: 'customer', phone: '+8613800138010', name: 'Excel 名字', region: '华南', tier: 'GOLD' }]);
    const c = await sqlOne<any>(db.orm, `select name, region, tier from customer where phone = '+8613800138010'`);
    expect(c).toEqual({ name: 'CRM 名字', region: '华南', tier: 'GOLD' });
  });
});

describe('result workbook', () => {
  it('repeats the original rows with a status and a plain-language error per row', async () => {
    const file = await deviceWorkbook('result.xlsx', [['SN-RES', 'M', '13800138011', '=cmd|calc', null, null], ['SN-RES2', 'M', '123', '王', null, null]]);
    const { s } = await run(file, 'devices', { dryRun: true });
    const out = dir.file('result.result.xlsx');
    await writeResultWorkbook(readLines(s.resultPath), s.headers, s.sheet!, out);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(out);
    const ws = wb.getWorksheet('设备')!;
    expect(ws.getRow(1).values).toEqual([undefined, ...DEVICE_HEADERS, '导入状态 Status', '说明 Error']);
    expect(ws.getRow(2).getCell(4).value).toBe("'=cmd|calc");
    expect(ws.getRow(3).getCell(7).value).toBe('失败 FAILED');
    expect(String(ws.getRow(3).getCell(8).value)).toMatch(/客户电话 \(column C\): "123" is not a valid phone number/);
  });
});

describe('an unexpected failure', () => {
  it('fails the file as INTERNAL, writes nothing, and logs the cause with its stack for the operator', async () => {
    const fill = jest.spyOn(masterData, 'fillFromMasterData').mockRejectedValueOnce(new Error('connection lost in the middle'));
    const logged = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      const before = await tableCounts(db.orm);
      const { s } = await run(await deviceWorkbook('unexpected.xlsx', [['SN-UNEXP', 'M', '13800138301', '意外', null, null]]), 'devices');
      expect(s).toMatchObject({ status: 'FAILED', committed: false, imported: 0, error: { code: 'INTERNAL', file: 'unexpected.xlsx' } });
      expect(await tableCounts(db.orm)).toEqual(before);
      expect(logged).toHaveBeenCalledWith('excel import failed unexpectedly',
        expect.objectContaining({ file: 'unexpected.xlsx', message: 'connection lost in the middle', stack: expect.stringContaining('Error: connection lost') }));
    } finally {
      fill.mockRestore();
      logged.mockRestore();
    }
  });
});
