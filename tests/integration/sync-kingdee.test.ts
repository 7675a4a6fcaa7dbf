import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import '../../src/connectors/all';
import { Connector, createConnector, parseConnectorsConfig, fakeClock } from '../../src/connectors';
import { sqlRows } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { SyncPipeline, ConnectorInstance } from '../../src/sync/pipeline';
import { startKingdeeSandbox } from '../../connectors/kingdee/sandbox/server';
import { useTestDatabase } from '../support/databases';

const STREAMS = ['customers', 'materials', 'serials', 'sales_orders', 'inventory'];

describe('pull sync from the Kingdee sandbox', () => {
  const db = useTestDatabase();
  let sandbox: Awaited<ReturnType<typeof startKingdeeSandbox>>;
  let pipeline: SyncPipeline;
  let connector: Connector;
  const count = async (table: string) => (await sqlRows<any>(db.orm, `select count(*)::int n from ${table}`))[0].n as number;

  beforeAll(async () => {
    sandbox = await startKingdeeSandbox({ port: 0 });
    const config = parseConnectorsConfig(`
connectors:
  - name: erp
    type: kingdee
    baseUrl: ${sandbox.url}
    sandbox: true
    credentials: { username: { value: junction.api }, password: { value: 'Kd#Junction2026' } }
    options: { acctId: 66f2a81c3d9e47 }
`);
    connector = createConnector(config.connectors[0], { clock: fakeClock(), logger: () => undefined });
    const instances = new Map<string, ConnectorInstance>([['erp', { name: 'erp', type: 'kingdee', system: 'erp', connector }]]);
    pipeline = new SyncPipeline(db.orm, new MappingEngine(), instances);
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('merges every stream into golden records with lineage and links', async () => {
    for (const stream of STREAMS) {
      const r = await pipeline.runStream('erp', stream, { trigger: 'cli', pageSize: 25 });
      expect({ stream, status: r.status, error: r.error }).toEqual({ stream, status: r.failed ? 'PARTIAL' : 'SUCCEEDED', error: undefined });
      expect(r.fetched).toBeGreaterThan(0);
      expect(r.merged + r.failed).toBe(r.fetched);
    }
    expect(await count('customer')).toBe(40);
    expect(await count('device')).toBeGreaterThanOrEqual(80);
    expect(await count('purchase')).toBe(80);
    expect(await count('spare_part')).toBe(21);
    expect(await count('stock')).toBe(56);
    const [c] = await sqlRows<any>(db.orm, `select c.name, junction_lineage(c.lineage) as lineage from customer c where phone = '+8613800138000'`);
    expect(c.lineage.name).toMatchObject({ system: 'erp', connector: 'erp', stream: 'customers' });
    const links = await sqlRows<any>(db.orm, `select count(*)::int n from source_link where system = 'erp'`);
    expect(links[0].n).toBeGreaterThanOrEqual(40 + 80 + 80);
    const [owned] = await sqlRows<any>(db.orm, `select count(*)::int n from device where owner_id is not null`);
    expect(owned.n).toBeGreaterThan(0);
    const audits = await sqlRows<any>(db.orm, `select count(*)::int n from audit_log where actor = 'sync:erp'`);
    expect(audits[0].n).toBeGreaterThan(0);
  });

  it('skips unchanged records on the next run and changes nothing', async () => {
    const before = await count('audit_log');
    const r = await pipeline.runStream('erp', 'customers', { trigger: 'cli', full: true, pageSize: 25 });
    expect(r).toMatchObject({ status: 'SUCCEEDED', fetched: 40, unchanged: 40, merged: 0 });
    expect(await count('audit_log')).toBe(before);
  });

  it('picks up exactly the changed record incrementally and audits the field', async () => {
    const changed = sandbox.control.modify('BD_Customer', { FNumber: 'CUST10001' }, { FName: '张伟(改)' });
    expect(changed).toBe(1);
    const r = await pipeline.runStream('erp', 'customers', { trigger: 'cli', pageSize: 25 });
    expect(r).toMatchObject({ status: 'SUCCEEDED', fetched: 1, merged: 1 });
    const audit = await sqlRows<any>(db.orm, `select field, before, after, origin from audit_log where actor = 'sync:erp' and field = 'name' order by id desc limit 1`);
    expect(audit[0]).toMatchObject({ field: 'name', after: '张伟(改)' });
    expect(audit[0].origin).toMatch(/^sync:erp\/customers:/);
  });

  it('flags a serial one character longer than a known one in the run that brings it, and merges it as its own device', async () => {
    const [a, b] = await sqlRows<{ serial: string; external_id: string }>(db.orm,
      `select d.serial, l.external_id from device d join source_link l on l.entity_type = 'device' and l.entity_id = d.id and l.stream = 'serials'
        order by d.id limit 2`);
    // Record b retyped in the ERP as a's serial with an extra character.
    expect(sandbox.control.modify('BD_SerialMainFile', { FSERIALID: Number(b.external_id) }, { FNumber: `${a.serial}7` })).toBe(1);
    const r = await pipeline.runStream('erp', 'serials', { trigger: 'cli', pageSize: 25 });
    expect(r).toMatchObject({ status: 'SUCCEEDED', fetched: 1, merged: 1 });
    const issues = await sqlRows<any>(db.orm, `select message, evidence from data_issue where kind = 'POSSIBLE_DUPLICATE' and evidence->>'newSerial' = ?`, [`${a.serial}7`]);
    expect(issues).toHaveLength(1);
    expect(issues[0].evidence).toMatchObject({ existingSerial: a.serial, source: 'erp/serials' });
    expect(await sqlRows(db.orm, `select 1 from device where serial = ?`, [`${a.serial}7`])).toHaveLength(1);
  });

  it('records a run that cannot reach the system as FAILED and keeps the cursor', async () => {
    const [state] = await sqlRows<any>(db.orm, `select cursor from sync_state where connector = 'erp' and stream = 'customers'`);
    sandbox.control.failNext(50, 500);
    const r = await pipeline.runStream('erp', 'customers', { trigger: 'cli' });
    sandbox.control.reset();
    expect(r.status).toBe('FAILED');
    expect(r.error).toMatch(/CONNECTOR_/);
    const [after] = await sqlRows<any>(db.orm, `select cursor from sync_state where connector = 'erp' and stream = 'customers'`);
    expect(after.cursor).toBe(state.cursor);
    const [run] = await sqlRows<any>(db.orm, `select status, error from sync_run where id = ?`, [r.runId]);
    expect(run.status).toBe('FAILED');
  });

  it('remaps stored records without fetching', async () => {
    const requests = sandbox.control.requests.length;
    const r = await pipeline.remap('erp', 'customers', { trigger: 'cli' });
    expect(r).toMatchObject({ status: 'SUCCEEDED', fetched: 40, merged: 40 });
    expect(sandbox.control.requests.length).toBe(requests);
  });

  it('keeps a record that fails its mapping with the error, counts it, and goes on', async () => {
    sandbox.control.modify('BD_Customer', { FNumber: 'CUST10002' }, { FTEL: 'not-a-phone' });
    sandbox.control.modify('BD_Customer', { FNumber: 'CUST10003' }, { FName: '王芳·新' });
    const r = await pipeline.runStream('erp', 'customers', { trigger: 'cli' });
    expect(r).toMatchObject({ status: 'PARTIAL', fetched: 2, failed: 1, merged: 1 });
    const [bad] = await sqlRows<any>(db.orm, `select status, error from source_record where connector = 'erp' and stream = 'customers' and external_id like '%' and status = 'FAILED'`);
    expect(bad.error.message).toMatch(/phone/i);
    const [run] = await sqlRows<any>(db.orm, `select status, failed from sync_run where id = ?`, [r.runId]);
    expect(run).toEqual({ status: 'PARTIAL', failed: 1 });
  });

  it('resumes after a failure mid-run from the last committed page, without gaps or duplicates', async () => {
    for (let i = 0; i < 12; i++) sandbox.control.modify('BD_Customer', { FNumber: `CUST${10010 + i}` }, { FName: `客户${i}` });
    // The system goes down once it has served the first page. (The pipeline asks for the second
    // page while the first one's transaction runs, so going down after that commit would be too
    // late to hit it.)
    const read = connector.streams.customers.read;
    const afterFirstPage: Connector = {
      ...connector,
      streams: {
        ...connector.streams,
        customers: {
          ...connector.streams.customers,
          read: async function* (cursor, opts) {
            for await (const page of read(cursor, opts)) {
              yield page;
              sandbox.control.failNext(1000, 500);
            }
          },
        },
      },
    };
    const failing = new SyncPipeline(db.orm, new MappingEngine(), new Map([['erp', { name: 'erp', type: 'kingdee', system: 'erp', connector: afterFirstPage }]]));
    const first = await failing.runStream('erp', 'customers', { trigger: 'cli', pageSize: 5 });
    sandbox.control.reset();
    expect(first).toMatchObject({ status: 'FAILED', pages: 1, merged: 5 });
    const halfway = await sqlRows<any>(db.orm, `select count(*)::int n from customer where name like '客户%'`);
    expect(halfway[0].n).toBe(5);
    const second = await pipeline.runStream('erp', 'customers', { trigger: 'cli', pageSize: 5 });
    expect(second).toMatchObject({ status: 'SUCCEEDED', fetched: 7, merged: 7 });
    const names = await sqlRows<any>(db.orm, `select count(*)::int n from customer where name like '客户%'`);
    expect(names[0].n).toBe(12);
    expect(await count('customer')).toBe(40);
  });

  it('fails the run with the mapping named when its expression does not compile, fetching nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'junction-broken-'));
    mkdirSync(join(root, 'kingdee'));
    writeFileSync(join(root, 'kingdee', 'customers.jsonata'), '{ "entity": ');
    const engine = new MappingEngine({ root });
    const broken = new SyncPipeline(db.orm, engine, (pipeline as any).instances);
    const requests = sandbox.control.requests.length;
    const r = await broken.runStream('erp', 'customers', { trigger: 'cli', full: true });
    expect(r.status).toBe('FAILED');
    expect(r.error).toMatch(/MAPPING_COMPILE_FAILED: Mapping kingdee\/customers/);
    expect(sandbox.control.requests.length).toBe(requests);
  });

  it('stops a looping mapping per record, keeps the records FAILED and goes on', async () => {
    const engine = new MappingEngine({ timeoutMs: 50 });
    engine.setOverride('kingdee/customers', '( $f := function($n) { $f($n + 1) }; $f(0) )', 'loop');
    const looping = new SyncPipeline(db.orm, engine, (pipeline as any).instances);
    const r = await looping.remap('erp', 'customers', { trigger: 'cli', pageSize: 10 });
    expect(r).toMatchObject({ status: 'PARTIAL', fetched: 40, failed: 40, merged: 0 });
    const [row] = await sqlRows<any>(db.orm, `select error from source_record where connector = 'erp' and stream = 'customers' limit 1`);
    expect(row.error.code).toBe('MAPPING_TIMEOUT');
    // and the good mapping brings everything back
    const fixed = await pipeline.remap('erp', 'customers', { trigger: 'cli' });
    expect(fixed.failed).toBeLessThanOrEqual(1);
  });
});
