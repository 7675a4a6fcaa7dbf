/**
 * Excel exchange over HTTP against a real gateway: template download with dropdowns, upload →
 * job → GraphQL excelJob → results, roles, upload size limit, a refused file leaving nothing
 * behind, and exports neutralizing formula injection.
 */
import { readFileSync, writeFileSync } from 'fs';
import ExcelJS from 'exceljs';
import { scratchDir, tableCounts, writeWorkbook } from '../support/excel';
import { insertCustomer, insertDevice } from '../support/fixtures';
import { startTestHub, TestHub } from '../support/server';
import { unzip, zip } from '../support/zip';

const JOB = `query($id: ID!) { excelJob(id: $id) { id template fileName status atomic dryRun totalRows processed imported unchanged failed
  error { code message file sheet row column } createdBy resultUrl resultWorkbookUrl } }`;

let hub: TestHub;
const dir = scratchDir();
let base: string;

beforeAll(async () => {
  process.env.JUNCTION_EXCEL_MAX_UPLOAD_MB = '0.5';
  hub = await startTestHub();
  delete process.env.JUNCTION_EXCEL_MAX_UPLOAD_MB;
  base = hub.server.url.replace(/\/graphql$/, '');
  const c = await insertCustomer(hub.server.orm, { phone: '+8613800138000', name: '张伟' });
  await insertDevice(hub.server.orm, { serial: 'SN-E2E-1', ownerId: c, model: 'KFR-72LW/N8HR3', warrantyEnd: '2028-01-01' });
});
afterAll(async () => {
  await hub.stop();
  dir.remove();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

async function upload(template: string, file: string, query = '', key = hub.keys.batch): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)]), file.split('/').pop());
  return fetch(`${base}/excel/import/${template}${query}`, { method: 'POST', headers: auth(key), body: form });
}

async function submit(template: string, file: string, query = ''): Promise<string> {
  const res = await upload(template, file, query);
  expect(res.status).toBe(202);
  return ((await res.json()) as { job: { id: string } }).job.id;
}

async function finished(id: string): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const r = await hub.gql(JOB, { id }, hub.keys.batch);
    const job = r.data?.excelJob;
    if (!job) throw new Error(JSON.stringify(r.errors));
    if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`job ${id} did not finish`);
}

async function workbookOf(res: Response): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(Buffer.from(await res.arrayBuffer()) as any);
  return wb;
}

describe('Excel over HTTP', () => {
  it('the template download has the headers, a sample row and dropdown lists for enumerations', async () => {
    const res = await fetch(`${base}/excel/templates/tickets`, { headers: auth(hub.keys.batch) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/spreadsheetml/);
    const ws = (await workbookOf(res)).getWorksheet('工单')!;
    const headers = (ws.getRow(1).values as unknown[]).slice(1);
    expect(headers).toEqual(expect.arrayContaining(['客户电话', '设备序列号', '故障描述', '优先级']));
    expect(headers).not.toContain('工单号'); // export-only columns are not in the import template
    const priorityCol = headers.indexOf('优先级') + 1;
    const letter = String.fromCharCode(64 + priorityCol);
    const validation = ws.getCell(`${letter}2`).dataValidation;
    expect(validation).toMatchObject({ type: 'list', formulae: ['"P0,P1,P2,P3"'] });
    expect(ws.getCell(`${letter}500`).dataValidation).toMatchObject({ type: 'list' });
    expect(ws.getCell(2, headers.indexOf('故障描述') + 1).value).toBe('不制冷，外机不转');
  });

  it('only batch and admin keys may use it', async () => {
    expect((await fetch(`${base}/excel/templates/tickets`)).status).toBe(401);
    const res = await fetch(`${base}/excel/templates/tickets`, { headers: auth(hub.keys.portal) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.code).toBe('FORBIDDEN');
    expect((await fetch(`${base}/excel/templates/tickets`, { headers: auth(hub.keys.admin) })).status).toBe(200);
    const r = await hub.gql(JOB, { id: '1' }, hub.keys.portal);
    expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('an upload becomes a job that GraphQL follows; results come back as JSON Lines and as a workbook', async () => {
    const file = await writeWorkbook(dir.file('工单.xlsx'), [{ name: '工单', rows: [
      ['设备序列号', '故障描述', '优先级'], ['SN-E2E-1', '不制冷', '高'], ['SN-UNKNOWN', '漏水', null],
    ] }]);
    const res = await upload('tickets', file);
    expect(res.status).toBe(202);
    const { job } = (await res.json()) as any;
    expect(job).toMatchObject({ template: 'tickets', fileName: '工单.xlsx' });
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'PARTIAL', totalRows: 2, processed: 2, imported: 1, failed: 1, error: null, createdBy: 'apikey:test-batch' });
    const jsonl = await fetch(`${base}${done.resultUrl}`, { headers: auth(hub.keys.batch) });
    const lines = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ file: '工单.xlsx', sheet: '工单', row: 2, status: 'IMPORTED' });
    expect(lines[0].records[0]).toMatchObject({ entity: 'ticket', phone: '+8613800138000', model: 'KFR-72LW/N8HR3', warrantyEnd: '2028-01-01', priority: 'P1' });
    expect(lines[1].error).toMatch(/设备序列号 \(column A\): no device SN-UNKNOWN/);
    const ws = (await workbookOf(await fetch(`${base}${done.resultWorkbookUrl}`, { headers: auth(hub.keys.batch) }))).getWorksheet('工单')!;
    expect(ws.getRow(3).getCell(5).value).toMatch(/no device SN-UNKNOWN/);
  });

  it('a refused file fails its job with an error naming file, sheet, row and column, and writes nothing', async () => {
    const before = await tableCounts(hub.server.orm);
    const file = await writeWorkbook(dir.file('dup.xlsx'), [{ name: '设备', rows: [['设备序列号', '型号', '型号'], ['SN-X', 'a', 'b']] }]);
    const done = await finished(await submit('devices', file));
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatchObject({ code: 'DUPLICATE_HEADER', file: 'dup.xlsx', sheet: '设备', row: 1, column: 'C' });
    expect(done.error.message).toMatch(/^dup\.xlsx, sheet "设备", row 1, column C: header "型号" appears twice/);

    const parts = unzip(readFileSync(await writeWorkbook(dir.file('ok.xlsx'), [{ name: '设备', rows: [['设备序列号'], ['SN-B']] }])));
    parts.find((p) => p.name === 'xl/worksheets/sheet1.xml')!.claimSize = 50;
    const bomb = dir.file('bomb.xlsx');
    writeFileSync(bomb, zip(parts));
    const bombJob = await finished(await submit('devices', bomb));
    expect(bombJob.error).toMatchObject({ code: 'ZIP_BOMB', file: 'bomb.xlsx' });
    expect(await tableCounts(hub.server.orm)).toEqual(before);
  });

  it('atomic and dry-run come from the query string; re-uploading changes nothing', async () => {
    const file = await writeWorkbook(dir.file('devices.xlsx'), [{ name: '设备', rows: [['设备序列号', '型号', '客户电话'], ['SN-E2E-2', 'M1', '138 0013 8000'], ['SN-E2E-3', 'M1', 'bad']] }]);
    const before = await tableCounts(hub.server.orm);
    const atomic = await finished(await submit('devices', file, '?atomic=true'));
    expect(atomic).toMatchObject({ status: 'FAILED', atomic: true, imported: 0, failed: 1, error: { code: 'ROWS_FAILED' } });
    const dry = await finished(await submit('devices', file, '?dryRun=1'));
    expect(dry).toMatchObject({ status: 'PARTIAL', dryRun: true, imported: 1, failed: 1 });
    expect(await tableCounts(hub.server.orm)).toEqual(before);
    expect(await finished(await submit('devices', file))).toMatchObject({ status: 'PARTIAL', imported: 1 });
    const after = await tableCounts(hub.server.orm);
    expect(await finished(await submit('devices', file))).toMatchObject({ imported: 0, unchanged: 1, failed: 1 });
    expect(await tableCounts(hub.server.orm)).toEqual(after);
  });

  it('uploads above the size limit are refused with 413', async () => {
    const big = dir.file('big.xlsx');
    writeFileSync(big, Buffer.alloc(700 * 1024, 1));
    const res = await upload('devices', big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe('FILE_TOO_LARGE');
  });

  it('exports stream the data with filters and neutralize cells that begin like formulas', async () => {
    const create = `mutation($input: CreateTicketInput!) { createTicket(input: $input) { number } }`;
    const evil = '=HYPERLINK("http://evil.example/x","点我")';
    const r = await hub.gql(create, { input: { phone: '13800138000', fault: evil, priority: 'P3' } });
    expect(r.errors).toBeUndefined();
    const res = await fetch(`${base}/excel/export/tickets?priority=P3&phone=13800138000`, { headers: auth(hub.keys.batch) });
    expect(res.status).toBe(200);
    const ws = (await workbookOf(res)).getWorksheet('工单')!;
    const headers = (ws.getRow(1).values as unknown[]).slice(1);
    const faultCol = headers.indexOf('故障描述') + 1;
    const faults = [] as unknown[];
    ws.eachRow((row, n) => { if (n > 1) faults.push(row.getCell(faultCol).value); });
    expect(faults).toEqual([`'${evil}`]);
    expect(ws.getRow(2).getCell(headers.indexOf('工单号') + 1).value).toBe(r.data.createTicket.number);
    const none = await workbookOf(await fetch(`${base}/excel/export/tickets?priority=P0`, { headers: auth(hub.keys.batch) }));
    expect(none.getWorksheet('工单')!.rowCount).toBe(1);
    expect((await fetch(`${base}/excel/export/tickets?from=yesterday`, { headers: auth(hub.keys.batch) })).status).toBe(400);
  });
});
