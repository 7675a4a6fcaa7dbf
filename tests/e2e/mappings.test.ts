import { sqlOne, sqlRows } from '../../src/db/sql';
import { startTestHub, TestHub } from '../support/server';

const MAPPING = 'kingdee/customers';
const CATASTROPHIC = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)';

/** Passes every fixture of kingdee/customers, but falls back to the short name: visible on CUST20003. */
const SHORT_NAME_FALLBACK = `(
  $phone := $normalizePhone(FTEL);
  $phone
    ? { "entity": "customer", "phone": $phone, "name": FName ? $trim(FName) : (FShortName ? $trim(FShortName) : null) }
    : $error("Kingdee customer " & FNumber & " has no valid phone in FTEL (" & (FTEL ? "\\"" & FTEL & "\\"" : "empty") & ")")
)`;
/** Does not normalize the phone: breaks the first fixture. */
const RAW_PHONE = '{ "entity": "customer", "phone": FTEL, "name": FName }';

const INFO = 'name activeVersion fileVersion inForce updatedAt source fixtureCount versions { version comment createdBy createdAt active forced { reason failingFixtures } }';
const PREVIEW = `query($name: String!, $source: String, $limit: Int, $connector: String) {
  previewMapping(name: $name, source: $source, limit: $limit, connector: $connector) {
    mapping expressionVersion ok failed timedOut budgetMs
    rows { connector stream externalId version input output error { code message position } }
  }
}`;
const SAVE = `mutation($name: String!, $source: String!, $comment: String, $force: Boolean, $reason: String) {
  saveMapping(name: $name, source: $source, comment: $comment, force: $force, reason: $reason) {
    version fixturesRun failingFixtures { fixture code } mapping { ${INFO} }
  }
}`;
const ROLLBACK = `mutation($name: String!, $version: Int) { rollbackMapping(name: $name, version: $version) { ${INFO} } }`;

describe('mapping admin API', () => {
  let hub: TestHub;
  const admin = <T = any>(q: string, v: Record<string, unknown> = {}) => hub.gql<T>(q, v, hub.keys.admin);

  /** Everything a preview must leave alone. */
  async function snapshot() {
    return sqlOne(hub.server.orm, `select
      (select md5(coalesce(string_agg(s::text, ',' order by id), '')) from source_record s) as source_records,
      (select count(*) from customer) as customers, (select count(*) from mapping_version) as versions,
      (select count(*) from audit_log) as audit, (select count(*) from sync_run) as runs`);
  }

  beforeAll(async () => {
    hub = await startTestHub();
    const rows: Array<[string, string, string, string, object]> = [
      ['erp', 'customers', 'CUST20001', '2026-11-20T08:00:00Z', { FNumber: 'CUST20001', FName: '张伟', FTEL: '138-0013-8000' }],
      ['erp', 'customers', 'CUST20002', '2026-11-20T09:00:00Z', { FNumber: 'CUST20002', FName: '某公司', FTEL: '' }],
      ['erp', 'customers', 'CUST20003', '2026-11-20T10:00:00Z', { FNumber: 'CUST20003', FName: '', FShortName: '短名', FTEL: '１５１８６７９５９０４' }],
      ['erp2', 'customers', 'CUST30001', '2026-11-20T07:00:00Z', { FNumber: 'CUST30001', FName: '王芳', FTEL: '+86 131 3562 9879' }],
      ['erp', 'materials', 'MAT1', '2026-11-20T11:00:00Z', { FNumber: 'MAT1' }],
    ];
    for (const [connector, stream, externalId, at, payload] of rows) {
      await sqlRows(hub.server.orm,
        `insert into source_record (connector, stream, external_id, version, payload, hash, fetched_at) values (?, ?, ?, ?, ?::jsonb, 'h', ?)`,
        [connector, stream, externalId, `${externalId}-v1`, JSON.stringify(payload), at]);
    }
  });
  afterAll(() => hub.stop());

  it('is for admin keys only', async () => {
    const ops: Array<[string, Record<string, unknown>]> = [
      ['{ mappings { name } }', {}],
      ['query($n: String!) { mapping(name: $n) { name } }', { n: MAPPING }],
      [PREVIEW, { name: MAPPING }],
      [SAVE, { name: MAPPING, source: SHORT_NAME_FALLBACK }],
      [ROLLBACK, { name: MAPPING, version: 0 }],
    ];
    for (const key of [hub.keys.portal, hub.keys.batch]) {
      for (const [q, v] of ops) {
        const r = await hub.gql(q, v, key);
        expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
    }
    expect((await sqlOne<any>(hub.server.orm, 'select count(*)::int as n from mapping_version'))!.n).toBe(0);
  });

  it('lists the file mappings with the file in force', async () => {
    const r = await admin('{ mappings { name activeVersion fileVersion inForce updatedAt fixtureCount versions { version } } }');
    expect(r.errors).toBeUndefined();
    const names = r.data.mappings.map((m: any) => m.name);
    expect(names).toEqual(expect.arrayContaining(['kingdee/customers', 'kingdee/inventory', 'kingdee/materials', 'kingdee/sales_orders', 'kingdee/serials']));
    const customers = r.data.mappings.find((m: any) => m.name === MAPPING);
    expect(customers).toEqual({
      name: MAPPING, activeVersion: null, fileVersion: expect.stringMatching(/^file:[0-9a-f]{12}$/), inForce: customers.fileVersion,
      updatedAt: null, fixtureCount: 6, versions: [],
    });
    expect(customers.fileVersion).toBe(hub.server.mappings.engine.get(MAPPING).version);
  });

  it('shows one mapping with its source; unknown names are NOT_FOUND', async () => {
    const r = await admin('query($n: String!) { mapping(name: $n) { name source fileSource } }', { n: MAPPING });
    expect(r.data.mapping.source).toContain('$normalizePhone(FTEL)');
    expect(r.data.mapping.source).toBe(r.data.mapping.fileSource);
    for (const [q, v] of [
      ['query($n: String!) { mapping(name: $n) { name } }', { n: 'kingdee/nope' }],
      [PREVIEW, { name: 'kingdee/nope' }],
      [SAVE, { name: 'kingdee/nope', source: '1' }],
      [ROLLBACK, { name: '../../etc/passwd' }],
    ] as const) {
      expect((await admin(q, v)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('previews the mapping in force against stored records: outputs and errors side by side, nothing written', async () => {
    const before = await snapshot();
    const r = await admin(PREVIEW, { name: MAPPING, connector: 'erp' });
    expect(r.errors).toBeUndefined();
    const p = r.data.previewMapping;
    expect(p).toMatchObject({ mapping: MAPPING, expressionVersion: expect.stringMatching(/^file:/), ok: 2, failed: 1, timedOut: false });
    expect(p.rows.map((row: any) => [row.externalId, row.output, row.error?.code ?? null])).toEqual([
      ['CUST20003', { entity: 'customer', phone: '+8615186795904', name: null }, null],
      ['CUST20002', null, 'MAPPING_FAILED'],
      ['CUST20001', { entity: 'customer', phone: '+8613800138000', name: '张伟' }, null],
    ]);
    expect(p.rows[1].error.message).toContain('Mapping kingdee/customers: Kingdee customer CUST20002 has no valid phone in FTEL (empty)');
    expect(p.rows[1].input).toEqual({ FNumber: 'CUST20002', FName: '某公司', FTEL: '' });
    expect(await snapshot()).toEqual(before);
  });

  it('previews a draft with the record bindings; stream match, connector filter and limit', async () => {
    const source = '{ "id": $externalId, "v": $version, "s": $stream, "c": $connector, "sys": $system, "n": FNumber }';
    const all = (await admin(PREVIEW, { name: MAPPING, source })).data.previewMapping;
    expect(all.expressionVersion).toBe('draft');
    expect(all.rows.map((row: any) => row.output)).toEqual([
      { id: 'CUST20003', v: 'CUST20003-v1', s: 'customers', c: 'erp', sys: 'erp', n: 'CUST20003' },
      { id: 'CUST20002', v: 'CUST20002-v1', s: 'customers', c: 'erp', sys: 'erp', n: 'CUST20002' },
      { id: 'CUST20001', v: 'CUST20001-v1', s: 'customers', c: 'erp', sys: 'erp', n: 'CUST20001' },
      { id: 'CUST30001', v: 'CUST30001-v1', s: 'customers', c: 'erp2', sys: 'erp', n: 'CUST30001' },
    ]);
    const one = (await admin(PREVIEW, { name: MAPPING, source, connector: 'erp2', limit: 1 })).data.previewMapping;
    expect(one.rows.map((row: any) => row.externalId)).toEqual(['CUST30001']);
    expect((await admin(PREVIEW, { name: MAPPING, limit: 201 })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limit' });
  });

  it('flags outputs that sync would refuse (canonical validation), keeping the output beside the error', async () => {
    const source = '{ "entity": "device", "model": FName }';
    const p = (await admin(PREVIEW, { name: MAPPING, source, connector: 'erp', limit: 1 })).data.previewMapping;
    expect(p).toMatchObject({ ok: 0, failed: 1 });
    expect(p.rows[0]).toMatchObject({ output: { entity: 'device', model: '' }, error: { code: 'MISSING_FIELD', message: expect.stringContaining('device.serial is required') } });
  });

  it('refuses a draft that does not compile, saying where', async () => {
    const r = await admin(PREVIEW, { name: MAPPING, source: '{ "phone": FTEL ' });
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'source', position: expect.any(Number) });
    expect(r.errors?.[0].message).toMatch(/^Mapping kingdee\/customers: .*position/);
  });

  it('stops a catastrophic regex with MAPPING_TIMEOUT (JSONata alone cannot), and the gateway keeps answering', async () => {
    const before = await snapshot();
    const preview = admin(PREVIEW, { name: MAPPING, source: CATASTROPHIC, connector: 'erp' });
    // The regex runs in the sandbox's thread, not the gateway's: other requests are served meanwhile
    // (were it on the gateway's thread, this request would never be answered).
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await admin('{ mappings { name } }')).errors).toBeUndefined();
    const p = (await preview).data.previewMapping;
    expect(p.timedOut).toBe(true);
    expect(p.failed).toBe(3);
    expect(p.rows.map((row: any) => row.error.code)).toEqual(['MAPPING_TIMEOUT', 'MAPPING_TIMEOUT', 'MAPPING_TIMEOUT']);
    expect(p.rows[0].error.message).toMatch(/^Mapping kingdee\/customers: stopped after \d+ ms/);
    expect(await snapshot()).toEqual(before);
  });

  it('saves version 1, puts it in force in the engine, records who', async () => {
    const r = await admin(SAVE, { name: MAPPING, source: SHORT_NAME_FALLBACK, comment: 'use the short name when FName is empty' });
    expect(r.errors).toBeUndefined();
    const s = r.data.saveMapping;
    expect(s).toMatchObject({ version: 1, fixturesRun: 6, failingFixtures: [] });
    expect(s.mapping).toMatchObject({ activeVersion: 1, inForce: 'v1', source: SHORT_NAME_FALLBACK, updatedAt: expect.any(String) });
    expect(s.mapping.versions).toEqual([{
      version: 1, comment: 'use the short name when FName is empty', createdBy: 'apikey:test-admin', createdAt: expect.any(String), active: true, forced: null,
    }]);
    const engine = hub.server.mappings.engine;
    expect(engine.get(MAPPING).version).toBe('v1');
    await expect(engine.evaluate(MAPPING, { FNumber: 'X', FName: '', FShortName: '短名', FTEL: '13800138000' }))
      .resolves.toEqual({ entity: 'customer', phone: '+8613800138000', name: '短名' });
    const preview = (await admin(PREVIEW, { name: MAPPING, connector: 'erp', limit: 1 })).data.previewMapping;
    expect(preview.expressionVersion).toBe('v1');
    expect(preview.rows[0].output).toEqual({ entity: 'customer', phone: '+8615186795904', name: '短名' });
  });

  it('refuses a save that breaks a fixture, naming it, and leaves version 1 in force', async () => {
    const r = await admin(SAVE, { name: MAPPING, source: RAW_PHONE });
    expect(r.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT', field: 'source', fixture: 'ERP customer with a dashed mobile number: phone normalized, ERP spelling of the name kept',
    });
    expect(r.errors?.[0].message).toContain('fails its fixture "ERP customer with a dashed mobile number');
    const noReason = await admin(SAVE, { name: MAPPING, source: RAW_PHONE, force: true });
    expect(noReason.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    const m = (await admin(`query($n: String!) { mapping(name: $n) { ${INFO} } }`, { n: MAPPING })).data.mapping;
    expect([m.activeVersion, m.versions.length]).toEqual([1, 1]);
    expect(hub.server.mappings.engine.get(MAPPING).version).toBe('v1');
  });

  it('saves past failing fixtures with force and a reason, keeping both', async () => {
    const r = await admin(SAVE, { name: MAPPING, source: RAW_PHONE, comment: 'raw phones', force: true, reason: 'vendor sends E.164 now' });
    expect(r.errors).toBeUndefined();
    const s = r.data.saveMapping;
    expect(s.version).toBe(2);
    expect(s.failingFixtures.length).toBeGreaterThan(0);
    expect(s.mapping.versions[0]).toMatchObject({
      version: 2, active: true, forced: { reason: 'vendor sends E.164 now', failingFixtures: s.failingFixtures.map((f: any) => f.fixture) },
    });
    expect(s.mapping.versions[1]).toMatchObject({ version: 1, active: false });
    expect(hub.server.mappings.engine.get(MAPPING).version).toBe('v2');
  });

  it('rolls back to the previous version, then past the first one to the file', async () => {
    const back = await admin(ROLLBACK, { name: MAPPING });
    expect(back.errors).toBeUndefined();
    expect(back.data.rollbackMapping).toMatchObject({ activeVersion: 1, inForce: 'v1', source: SHORT_NAME_FALLBACK });
    expect(hub.server.mappings.engine.get(MAPPING).version).toBe('v1');

    const file = (await admin(ROLLBACK, { name: MAPPING })).data.rollbackMapping;
    expect(file.activeVersion).toBeNull();
    expect(file.inForce).toBe(file.fileVersion);
    expect(file.versions.map((v: any) => [v.version, v.active])).toEqual([[2, false], [1, false]]);
    expect(hub.server.mappings.engine.get(MAPPING).version).toBe(file.fileVersion);
    await expect(hub.server.mappings.engine.evaluate(MAPPING, { FNumber: 'X', FName: '', FShortName: '短名', FTEL: '13800138000' }))
      .resolves.toEqual({ entity: 'customer', phone: '+8613800138000', name: null });

    const nothing = await admin(ROLLBACK, { name: MAPPING });
    expect(nothing.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'version' });
    const toTwo = (await admin(ROLLBACK, { name: MAPPING, version: 2 })).data.rollbackMapping;
    expect(toTwo.activeVersion).toBe(2);
    const audit = await sqlRows<any>(hub.server.orm,
      `select before, after, actor from audit_log where entity_type = 'mapping_version' and field = 'activeVersion' order by id`);
    expect(audit.map((a) => [a.before, a.after])).toEqual([[null, 1], [1, 2], [2, 1], [1, null], [null, 2]]);
    expect(audit.every((a) => a.actor === 'apikey:test-admin')).toBe(true);
  });
});
