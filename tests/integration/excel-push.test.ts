/**
 * Excel push (the legacy-system bridge) end to end: real PostgreSQL, real Redis (own prefix), the
 * outbox relay and write-back worker, and the http-json sandbox as the legacy MES. Every row an
 * import commits reaches the MES once; re-imports, dry runs, --no-push and --atomic failures push
 * nothing; a row its outbound mapping refuses dead-letters alone, with the reason.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { Redis } from 'ioredis';
import { parseConnectorsConfig } from '../../src/connectors';
import { sqlRows } from '../../src/db/sql';
import { ExcelImporter, ImportSummary } from '../../src/excel/importer';
import { checkTemplate, ExcelTemplate, loadTemplate, PushTarget } from '../../src/excel/template';
import { MappingEngine } from '../../src/mapping/engine';
import { closeInstances, loadSyncSetup } from '../../src/sync/instances';
import type { ConnectorInstance } from '../../src/sync/pipeline';
import { redisConnection } from '../../src/sync/queue';
import { TicketService } from '../../src/tickets/ticket-service';
import { startWritebackRuntime, WritebackRuntime } from '../../src/writeback/runtime';
import { HttpJsonSandbox, startHttpJsonSandbox } from '../../connectors/http-json/sandbox/server';
import { useTestDatabase } from '../support/databases';
import { scratchDir, writeWorkbook } from '../support/excel';
import { insertCustomer, insertDevice } from '../support/fixtures';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL } from '../support/queues';

const TOKEN = 'mes-sandbox-token';
const MES_DEVICES: PushTarget = { name: 'mes-devices', connector: 'mes', operation: 'post', mapping: 'http-json/mes-device' };
const DEVICE_HEADERS = ['设备序列号', '型号', '客户电话', '客户姓名', '购买日期', '保修截止日期'];

const db = useTestDatabase();
let mes: HttpJsonSandbox;
let instances: Map<string, ConnectorInstance>;
let connection: Redis;
let prefix: string;
let runtime: WritebackRuntime | null = null;
let devices: ExcelTemplate;
const dir = scratchDir();

interface OutboxRow { id: string; status: string; origin: string; route: string; connector: string; ticket_id: string | null; row_hash: string; target_key: string; attempts: number; last_error: any; payload: any }
const outbox = (originPrefix: string) =>
  sqlRows<OutboxRow>(db.orm, `select id, status, origin, route, connector, ticket_id, row_hash, target_key, attempts, last_error, payload
    from writeback_outbox where origin like ? order by id`, [`${originPrefix}%`]);
const settled = (originPrefix: string, n: number) =>
  eventually(async () => {
    const r = await outbox(originPrefix);
    return r.length === n && r.every((x) => ['APPLIED', 'DEAD'].includes(x.status)) ? r : undefined;
  }, 20_000, `pushes of ${originPrefix} to settle`);

async function startRuntime(engine = new MappingEngine()) {
  runtime = await startWritebackRuntime({
    orm: db.orm, engine, instances, connection, prefix, concurrency: 4,
    jobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 50 } },
    relayOptions: { pollMs: 200 },
    workerOptions: { misconfiguredDelayMs: 200, orderDelayMs: 50 },
  });
}

async function importFile(file: string, template: ExcelTemplate, opts: { atomic?: boolean; dryRun?: boolean; push?: boolean; batchSize?: number } = {}, engine = new MappingEngine()): Promise<ImportSummary> {
  const importer = new ExcelImporter(db.orm, engine, new TicketService(db.orm));
  return importer.run({
    template, path: file, fileName: file.split('/').pop()!, ...opts, actor: { name: 'test', origin: 'test' },
    resultPath: `${file}.${Math.random().toString(36).slice(2)}.jsonl`,
  });
}

const deviceFile = (name: string, rows: unknown[][]) => writeWorkbook(dir.file(name), [{ name: '设备', rows: [DEVICE_HEADERS, ...rows] }]);

beforeAll(async () => {
  mes = await startHttpJsonSandbox({ token: TOKEN });
  const yaml = `connectors:
  - name: mes
    type: http-json
    baseUrl: ${mes.url}/api
    sandbox: true
    credentials:
      token: { value: ${JSON.stringify(TOKEN)} }
    options: { path: /devices, operations: { workOrders: { path: /work-orders } } }
`;
  instances = loadSyncSetup(undefined, { config: parseConnectorsConfig(yaml), logger: () => undefined }).instances;
  devices = { ...loadTemplate('devices'), push: [MES_DEVICES] };
});
afterAll(async () => {
  await closeInstances(instances);
  await mes.close();
  dir.remove();
});
beforeEach(async () => {
  prefix = testQueuePrefix();
  connection = redisConnection(TEST_REDIS_URL);
});
afterEach(async () => {
  await runtime?.close();
  runtime = null;
  connection.disconnect();
  await cleanQueuePrefix(prefix);
});

describe('pushing imported rows on to a legacy system', () => {
  it('each imported row reaches the MES once (a 503 on the way is retried); failed rows push nothing; a re-import pushes nothing again', async () => {
    await startRuntime();
    mes.control.failNext(1, 503, { path: '/devices' });
    const file = await deviceFile('push-devices.xlsx', [
      ['SN-PUSH-1', 'KFR-72LW/N8HR3', '13800138001', '王一', '2025-06-18', '2028-06-18'],
      ['SN-PUSH-2', 'DSL-K20 Pro', '13800138002', '王二', null, null],
      ['SN-PUSH-3', 'KFR-35GW', '13800138003', '王三', 'not a date', null],
    ]);
    const s = await importFile(file, devices);
    expect(s).toMatchObject({ status: 'PARTIAL', imported: 2, failed: 1, pushed: 2, committed: true });

    const rows = await settled('excel:devices:push-devices.xlsx#', 2);
    expect(rows.map((r) => r.origin)).toEqual(['excel:devices:push-devices.xlsx#设备!2', 'excel:devices:push-devices.xlsx#设备!3']);
    expect(rows.every((r) => r.status === 'APPLIED' && r.ticket_id === null && r.route === 'excel:devices:mes-devices')).toBe(true);
    expect(rows[0].target_key).toBe('mes:excel:devices:mes-devices:SN-PUSH-1');
    const docs = mes.control.received('/api/devices');
    expect(docs.map((d) => (d.body as any).serialNo).sort()).toEqual(['SN-PUSH-1', 'SN-PUSH-2']);
    expect(docs.find((d) => (d.body as any).serialNo === 'SN-PUSH-1')!.body).toMatchObject({
      docType: 'DEVICE_MASTER', model: 'KFR-72LW/N8HR3', warrantyEnd: '2028-06-18', owner: { phone: '+8613800138001', name: '王一' },
      source: { origin: 'excel:devices:push-devices.xlsx#设备!2', rowHash: rows[0].row_hash },
    });
    for (const r of rows) expect(mes.control.effects.count(`junction-wb-${r.id}`)).toBe(1);
    expect(mes.control.posts.filter((p) => p.status === 503)).toHaveLength(1);
    expect(rows.reduce((n, r) => n + r.attempts, 0)).toBe(3); // the 503 cost one attempt, then both applied

    const again = await importFile(file, devices);
    expect(again).toMatchObject({ imported: 0, unchanged: 2, failed: 1, pushed: 0 });
    expect(await outbox('excel:devices:push-devices.xlsx#')).toHaveLength(2);
    expect(mes.control.received('/api/devices')).toHaveLength(2);
  });

  it('a row its outbound mapping refuses dead-letters with the reason; the other rows go through', async () => {
    const engine = new MappingEngine();
    const source = engine.fileSource('http-json/mes-device.out');
    engine.setOverride('http-json/mes-device.out', `$contains(records[entity = "device"].serial, "BAD") ? $error("the MES has no model code for this device") : ${source}`, 'v1');
    await startRuntime(engine);
    const file = await deviceFile('push-bad.xlsx', [['SN-BAD-1', 'KFR', '13800138011', '李一', null, null], ['SN-OK-1', 'KFR', '13800138012', '李二', null, null]]);
    expect(await importFile(file, devices, {}, engine)).toMatchObject({ imported: 2, pushed: 2 });
    const [bad, ok] = await settled('excel:devices:push-bad.xlsx#', 2);
    expect(bad).toMatchObject({ status: 'DEAD', attempts: 1 });
    expect(bad.last_error.message).toMatch(/outbound mapping http-json\/mes-device\.out failed for excel:devices:push-bad\.xlsx#设备!2: .*the MES has no model code/);
    expect(ok.status).toBe('APPLIED');
    expect(mes.control.received('/api/devices').map((d) => (d.body as any).serialNo)).toContain('SN-OK-1');
    expect(mes.control.received('/api/devices').map((d) => (d.body as any).serialNo)).not.toContain('SN-BAD-1');
  });

  it('a dry run, --no-push and an --atomic import with a failed row queue nothing', async () => {
    const file = await deviceFile('push-none.xlsx', [['SN-NONE-1', 'KFR', '13800138021', '赵一', null, null], ['SN-NONE-2', 'KFR', '13800138022', '赵二', 'bad date', null]]);
    await startRuntime(); // a relay is running: anything committed would be picked up
    expect(await importFile(file, devices, { dryRun: true })).toMatchObject({ pushed: 0, committed: false });
    // batches of one: row 2 merges (and queues its push) before row 3 fails; the file's rollback takes the push with it
    expect(await importFile(file, devices, { atomic: true, batchSize: 1 })).toMatchObject({ status: 'FAILED', pushed: 0, committed: false });
    expect(await outbox('excel:devices:push-none.xlsx#')).toHaveLength(0);
    expect(await importFile(file, devices, { push: false })).toMatchObject({ imported: 1, pushed: 0, committed: true });
    expect(await outbox('excel:devices:push-none.xlsx#')).toHaveLength(0);
  });

  it('ticket rows push with the ticket they created, in the row\'s own transaction', async () => {
    await startRuntime();
    const owner = await insertCustomer(db.orm, { phone: '+8613800138031', name: '钱一' });
    await insertDevice(db.orm, { serial: 'SN-TKP-1', ownerId: owner });
    const tickets: ExcelTemplate = { ...loadTemplate('tickets'), push: [{ name: 'mes-orders', connector: 'mes', operation: 'workOrders', mapping: 'http-json/mes-ticket' }] };
    const file = await writeWorkbook(dir.file('push-tickets.xlsx'), [{ name: '工单', rows: [
      ['设备序列号', '客户电话', '故障描述', '优先级'],
      ['SN-TKP-1', null, '不制冷', '紧急'],
      ['SN-NOT-THERE', null, '漏水', null],
    ] }]);
    const s = await importFile(file, tickets);
    expect(s).toMatchObject({ imported: 1, failed: 1, pushed: 1 });
    const [row] = await settled('excel:tickets:push-tickets.xlsx#', 1);
    expect(row.status).toBe('APPLIED');
    const [doc] = mes.control.received('/api/work-orders');
    expect(doc.body).toMatchObject({ docType: 'WORK_ORDER', serialNo: 'SN-TKP-1', fault: '不制冷', priority: 'P0', ticketNumber: row.payload.ticket });
    expect(row.payload.ticket).toMatch(/^T\d{8}-\d{4}$/);
    expect(row.target_key).toBe(`mes:excel:tickets:mes-orders:${row.payload.ticket}`);
  });
});

describe('the template push section', () => {
  const base = () => JSON.parse(JSON.stringify(loadTemplate('customers'))) as ExcelTemplate;

  it.each([
    [{ push: { name: 'x' } }, /"customers": "push" must be a list/],
    [{ push: [{ name: 'mes', connector: 'mes', operation: 'post' }] }, /"customers": push\[0\]\.mapping must be a non-empty string/],
    [{ push: [{ name: 'mes', connector: 'mes', operation: 'post', mapping: 'mes-device' }] }, /"customers": push\[0\]\.mapping "mes-device" must be <connector type>\/<target>/],
    [{ push: [{ name: 'a b', connector: 'mes', operation: 'post', mapping: 'http-json/x' }] }, /push\[0\]\.name "a b" may use letters/],
    [{ push: [MES_DEVICES, MES_DEVICES] }, /push\[1\]\.name "mes-devices" is used twice/],
    [{ push: [{ ...MES_DEVICES, target: 'x' }] }, /push\[0\]: unknown field "target"/],
  ])('is refused with the template and field named: %j', (patch, message) => {
    expect(() => checkTemplate({ ...base(), ...patch } as ExcelTemplate, 'customers')).toThrow(message);
  });

  it('a push whose outbound mapping file does not exist is refused when the template loads', () => {
    const root = join(dir.dir, 'mappings');
    mkdirSync(join(root, 'excel'), { recursive: true });
    writeFileSync(join(root, 'excel', 'customers.template.json'), JSON.stringify({ ...base(), push: [{ ...MES_DEVICES, mapping: 'http-json/nowhere' }] }));
    expect(() => loadTemplate('customers', join(root, 'excel'))).toThrow(/"customers": push\[0\]\.mapping: no outbound mapping mappings\/http-json\/nowhere\.out\.jsonata/);
  });
});
