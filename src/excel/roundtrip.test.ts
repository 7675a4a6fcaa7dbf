/**
 * Export → import → import again: the values come back as they were. Exports write text that
 * starts like a formula (- + = @) after an apostrophe (`guard.ts`); the reader takes exactly that
 * apostrophe off again, in every kind of column.
 */
import { sqlOne } from '../db/sql';
import { MappingEngine } from '../mapping/engine';
import { TicketService } from '../tickets/ticket-service';
import { useTestDatabase } from '../../tests/support/databases';
import { scratchDir, writeWorkbook } from '../../tests/support/excel';
import { exportData } from './exporter';
import { ExcelImporter } from './importer';
import { ResultLine, readLines, writeResultWorkbook } from './results';
import { loadTemplate } from './template';

const db = useTestDatabase();
const dir = scratchDir();
let importer: ExcelImporter;

beforeAll(() => {
  importer = new ExcelImporter(db.orm, new MappingEngine(), new TicketService(db.orm));
});
afterAll(() => dir.remove());

async function run(file: string, template: string) {
  const resultPath = `${file}.${Math.random().toString(36).slice(2)}.jsonl`;
  const s = await importer.run({ template, path: file, fileName: file.split('/').pop()!, actor: { name: 'test', origin: 'test' }, resultPath });
  const lines: ResultLine[] = [];
  for await (const l of readLines(resultPath)) lines.push(l);
  return { s, lines };
}

const device = () => sqlOne<{ model: string; firmware: string; name: string }>(db.orm,
  `select d.model, d.firmware, c.name from device d join customer c on c.id = d.owner_id where d.serial = 'SN-GUARD-1'`);

describe('export → import round trip', () => {
  it('text that starts like a formula imports back without the export\'s apostrophe, and a re-import is UNCHANGED', async () => {
    const file = await writeWorkbook(dir.file('guarded.xlsx'), [{ name: '设备', rows: [
      ['设备序列号', '型号', '固件版本', '客户电话', '客户姓名'],
      ['SN-GUARD-1', '=KFR-72LW', '-', '13800138071', '@王五'],
    ] }]);
    expect((await run(file, 'devices')).s).toMatchObject({ status: 'SUCCEEDED', imported: 1 });
    const before = await device();
    expect(before).toEqual({ model: '=KFR-72LW', firmware: '-', name: '@王五' });

    const exported = dir.file('export.xlsx');
    await exportData(db.orm, loadTemplate('devices'), { serial: 'SN-GUARD-1' }, exported);
    const first = await run(exported, 'devices');
    expect(first.lines.map((l) => [l.status, l.errors])).toEqual([[expect.stringMatching(/IMPORTED|UNCHANGED/), []]]);
    expect(await device()).toEqual(before); // before: firmware "'-", model "'=KFR-72LW", name "'@王五"
    const again = await run(exported, 'devices');
    expect(again.lines.map((l) => l.status)).toEqual(['UNCHANGED']);
    expect(await device()).toEqual(before);
  });

  it('a tickets result workbook imported again finds its tickets (UNCHANGED), not a second ticket with fault "\'-外机漏水"', async () => {
    await run(await writeWorkbook(dir.file('rt-master.xlsx'), [{ name: '设备', rows: [['设备序列号', '型号', '客户电话', '客户姓名'], ['SN-GUARD-T', 'KFR-RT', '13800138072', '钱八']] }]), 'devices');
    const file = await writeWorkbook(dir.file('rt-tickets.xlsx'), [{ name: '工单', rows: [['设备序列号', '故障描述', '备注'], ['SN-GUARD-T', '-外机漏水', '+加急']] }]);
    const first = await run(file, 'tickets');
    expect(first.s).toMatchObject({ imported: 1, failed: 0 });
    const result = dir.file('rt-tickets.result.xlsx');
    await writeResultWorkbook(readLines(first.s.resultPath), first.s.headers, first.s.sheet!, result);
    const count = () => sqlOne<{ n: string; faults: string[] }>(db.orm,
      `select count(*) as n, array_agg(t.fault) as faults from ticket t join device d on d.id = t.device_id where d.serial = 'SN-GUARD-T'`);
    expect(await count()).toEqual({ n: '1', faults: ['-外机漏水'] });
    const again = await run(result, 'tickets');
    expect(again.lines.map((l) => [l.status, l.ticket])).toEqual([['UNCHANGED', first.lines[0].ticket]]);
    expect(await count()).toEqual({ n: '1', faults: ['-外机漏水'] }); // before: 2 tickets, the second with fault "'-外机漏水"
  });
});
