import { createHash } from 'crypto';
import { fakeClock, parseConnectorsConfig } from '../../src/connectors';
import { sqlRows } from '../../src/db/sql';
import { DEMO_SYNC_ORDER, startDemoSandboxes } from '../../src/demo/sandboxes';
import { MappingEngine } from '../../src/mapping/engine';
import { SyncPipeline } from '../../src/sync/pipeline';
import { loadSyncSetup } from '../../src/sync/instances';
import { useTestDatabase } from '../support/databases';

/** CRM, ERP and IoT sandboxes synced into one set of golden records. */
describe('sync from all three sandboxes', () => {
  const db = useTestDatabase();
  let sandboxes: Awaited<ReturnType<typeof startDemoSandboxes>>;
  let pipeline: SyncPipeline;
  const results: Record<string, any> = {};

  beforeAll(async () => {
    sandboxes = await startDemoSandboxes(0);
    const setup = loadSyncSetup(undefined, { config: parseConnectorsConfig(sandboxes.configYaml), clock: fakeClock(), logger: () => undefined });
    pipeline = new SyncPipeline(db.orm, new MappingEngine(), setup.instances);
    for (const [connector, stream] of DEMO_SYNC_ORDER) {
      results[`${connector}/${stream}`] = await pipeline.runStream(connector, stream, { trigger: 'cli' });
    }
  }, 120000);
  afterAll(async () => {
    await sandboxes.close();
  });

  it('runs every stream without a failed run', () => {
    for (const [name, r] of Object.entries(results)) {
      expect({ name, status: r.status, error: r.error }).toEqual({ name, status: expect.stringMatching(/SUCCEEDED|PARTIAL/), error: undefined });
      expect(r.fetched).toBeGreaterThan(0);
    }
  });

  it('stages each source record as the exact text its content hash was computed from (json, not re-encoded as jsonb)', async () => {
    const rows = await sqlRows<any>(db.orm, `select payload::text as raw, hash from source_record order by id`);
    expect(rows.length).toBeGreaterThan(100);
    // jsonb would give the payload back re-encoded (its own key order, a space after every colon and comma).
    for (const r of rows) expect({ raw: r.raw.slice(0, 80), hash: createHash('sha256').update(r.raw).digest('hex') }).toEqual({ raw: r.raw.slice(0, 80), hash: r.hash });
  });

  it('merges the same customers seen from CRM and ERP into one golden record each', async () => {
    const [{ n }] = await sqlRows<any>(db.orm, `select count(*)::int n from customer`);
    expect(n).toBe(40);
    const [{ linked }] = await sqlRows<any>(db.orm,
      `select count(*)::int linked from customer c where exists (select 1 from source_link l where l.entity_type = 'customer' and l.entity_id = c.id and l.system = 'crm')
         and exists (select 1 from source_link l where l.entity_type = 'customer' and l.entity_id = c.id and l.system = 'erp')`);
    expect(linked).toBe(40);
  });

  it('lets the CRM spelling of a name win over the ERP one (declared survivorship), with lineage', async () => {
    const rows = await sqlRows<any>(db.orm, `select name, junction_lineage(lineage) as lineage from customer where name in ('刘洋', '刘阳')`);
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe('刘洋');
    expect(rows[0].lineage.name.system).toBe('crm');
  });

  it('keeps a device that only IoT knows, and telemetry for the devices that report', async () => {
    const [{ n }] = await sqlRows<any>(db.orm, `select count(*)::int n from device d where not exists
      (select 1 from source_link l where l.entity_type = 'device' and l.entity_id = d.id and l.system = 'erp')`);
    expect(n).toBeGreaterThanOrEqual(1);
    const [{ t }] = await sqlRows<any>(db.orm, `select count(*)::int t from telemetry`);
    expect(t).toBeGreaterThanOrEqual(70);
  });

  it('links complaints to customers', async () => {
    const [{ n, open }] = await sqlRows<any>(db.orm, `select count(*)::int n, count(*) filter (where status = 'OPEN')::int open from complaint where customer_id is not null`);
    expect(n).toBeGreaterThan(50);
    expect(open).toBeGreaterThan(0);
  });

  it('changes nothing when everything is synced again', async () => {
    const [{ before }] = await sqlRows<any>(db.orm, `select count(*)::int before from audit_log`);
    for (const [connector, stream] of DEMO_SYNC_ORDER) {
      const r = await pipeline.runStream(connector, stream, { trigger: 'cli', full: true });
      expect({ s: `${connector}/${stream}`, merged: r.merged - 0 }).toEqual({ s: `${connector}/${stream}`, merged: r.failed ? r.merged : 0 });
    }
    const [{ after }] = await sqlRows<any>(db.orm, `select count(*)::int after from audit_log`);
    expect(after).toBe(before);
  });

  it('flags a serial one character away from a known one instead of merging it', async () => {
    const issues = await sqlRows<any>(db.orm, `select kind, message, evidence from data_issue where kind = 'POSSIBLE_DUPLICATE'`);
    const before = issues.length;
    const [known] = await sqlRows<any>(db.orm, `select serial from device where model = 'KFR-72LW/N8HR3' order by id limit 1`);
    // One ERP serial record typed with an extra character, straight through the merge.
    const { Merger } = await import('../../src/sync/merge');
    await db.orm.em.fork().transactional(async (em) => {
      const m = new Merger(em, { connector: 'erp', system: 'erp', stream: 'serials' });
      const errors = await m.merge([{ index: 0, externalId: 'typo-1', version: null, at: new Date().toISOString(),
        record: { entity: 'device', fields: { serial: `${known.serial}3`, model: 'KFR-72LW/N8HR3' } } }]);
      expect(errors.size).toBe(0);
    });
    const after = await sqlRows<any>(db.orm, `select message, evidence from data_issue where kind = 'POSSIBLE_DUPLICATE' order by id desc`);
    expect(after.length).toBe(before + 1);
    expect(after[0].evidence).toMatchObject({ newSerial: `${known.serial}3`, existingSerial: known.serial });
    expect(after[0].message).toContain('not merged');
  });

  it('does not flag sequential serials, and flags a near pair arriving in one batch once', async () => {
    const { Merger } = await import('../../src/sync/merge');
    const item = (i: number, serial: string) => ({ index: i, externalId: `b-${serial}`, version: null, at: new Date().toISOString(),
      record: { entity: 'device' as const, fields: { serial, model: 'LK-S9' } } });
    const [{ before }] = await sqlRows<any>(db.orm, `select count(*)::int before from data_issue where kind = 'POSSIBLE_DUPLICATE'`);
    await db.orm.em.fork().transactional(async (em) => {
      const errors = await new Merger(em, { connector: 'erp', system: 'erp', stream: 'serials' })
        .merge([item(0, 'SEQLOCK0001'), item(1, 'SEQLOCK0002'), item(2, 'PAIRLOCK12'), item(3, 'PAIRLOCK123')]);
      expect(errors.size).toBe(0);
    });
    const found = await sqlRows<any>(db.orm, `select evidence from data_issue where kind = 'POSSIBLE_DUPLICATE' and fingerprint like '%LOCK%'`);
    expect(found).toHaveLength(1);
    expect([found[0].evidence.newSerial, found[0].evidence.existingSerial].sort()).toEqual(['PAIRLOCK12', 'PAIRLOCK123']);
    const [{ after }] = await sqlRows<any>(db.orm, `select count(*)::int after from data_issue where kind = 'POSSIBLE_DUPLICATE'`);
    expect(after).toBe(before + 1);
  });
});
