import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import { MappingEngine } from './engine';
import { SandboxedEvaluator } from './sandboxed';
import { MappingStore } from './store';

const admin = { name: 'apikey:ops', origin: 'graphql' };

/** A mappings root with `<name>.jsonata` (and `<name>.fixtures.json` when given). */
function mappingsRoot(files: Record<string, { source: string; fixtures?: unknown[] }>): string {
  const root = mkdtempSync(join(tmpdir(), 'junction-store-'));
  for (const [name, f] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, `${name}.jsonata`), f.source);
    if (f.fixtures) writeFileSync(join(root, `${name}.fixtures.json`), JSON.stringify(f.fixtures));
  }
  return root;
}

const FILES = {
  'crm/accounts': {
    source: '{ "entity": "customer", "name": Name }',
    fixtures: [
      { name: 'copies the name', input: { Name: 'A' }, expected: { entity: 'customer', name: 'A' } },
      { name: 'no name, no name field', input: {}, expected: { entity: 'customer' } },
    ],
  },
  'crm/deep/nested': { source: '"nested"' },
  'crm/notes.out': { source: '{ "body": text }' },
  'erp/orders': {
    source: 'amount > 0 ? { "amount": amount } : $error("order " & id & " has no amount")',
    fixtures: [{ name: 'refuses an empty order', input: { id: 'O1', amount: 0 }, expectError: 'has no amount' }],
  },
};

describe('MappingStore', () => {
  const db = useTestDatabase();
  let root: string;
  let engine: MappingEngine;
  let store: MappingStore;
  const sandbox = new SandboxedEvaluator({ budgetMs: 1500 });

  beforeAll(async () => {
    root = mappingsRoot(FILES);
  });
  beforeEach(async () => {
    await sqlRows(db.orm, 'truncate mapping_version');
    engine = new MappingEngine({ root });
    store = new MappingStore(db.orm, engine, { sandbox });
  });

  const active = async (name: string) =>
    (await sqlRows<{ version: number }>(db.orm, 'select version from mapping_version where name = ? and active', [name])).map((r) => r.version);

  it('lists every file recursively (outbound ones too) and names that exist only as saved versions', async () => {
    await sqlRows(db.orm, `insert into mapping_version (name, version, source, created_by, active) values ('legacy/old', 1, '"old"', 'x', true)`);
    const list = await store.list();
    expect(list.map((m) => m.name)).toEqual(['crm/accounts', 'crm/deep/nested', 'crm/notes.out', 'erp/orders', 'legacy/old']);
    const accounts = list[0];
    expect(accounts).toMatchObject({ activeVersion: null, fixtureCount: 2, source: FILES['crm/accounts'].source, updatedAt: null, versions: [] });
    expect(accounts.fileVersion).toBe(engine.get('crm/accounts').version); // same label as the engine's
    expect(list[4]).toMatchObject({ activeVersion: 1, fileVersion: null, fileSource: null, source: '"old"', inForce: 'v1' });
  });

  it('refuses unknown names with NOT_FOUND', async () => {
    for (const run of [
      () => store.get('crm/nope'), () => store.get('../etc/passwd'), () => store.save('crm/nope', '1', null, admin),
      () => store.rollback('crm/nope', admin), () => store.preview('crm/nope'),
    ]) {
      await expect(run()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it('saves version max+1, active alone, applied to the engine, with who and when in the audit log', async () => {
    const first = await store.save('crm/accounts', '{ "entity": "customer", "name": $uppercase(Name) }', 'upper-case names', admin);
    expect(first).toEqual({ version: 1, fixturesRun: 2, failingFixtures: [] });
    await expect(engine.evaluate('crm/accounts', { Name: 'a' })).resolves.toEqual({ entity: 'customer', name: 'A' });
    expect(engine.get('crm/accounts').version).toBe('v1');

    expect((await store.save('crm/accounts', '{ "entity": "customer", "name": $trim(Name) }', null, admin)).version).toBe(2);
    expect(await active('crm/accounts')).toEqual([2]);
    const info = await store.get('crm/accounts');
    expect(info.versions.map((v) => [v.version, v.active, v.createdBy, v.comment])).toEqual([
      [2, true, 'apikey:ops', null], [1, false, 'apikey:ops', 'upper-case names'],
    ]);
    expect(info.updatedAt).toBeInstanceOf(Date);
    const audit = await sqlRows<any>(db.orm, `select field, before, after, actor from audit_log where entity_type = 'mapping_version' order by id`);
    expect(audit.slice(-2)).toEqual([
      { field: 'activeVersion', before: null, after: 1, actor: 'apikey:ops' },
      { field: 'activeVersion', before: 1, after: 2, actor: 'apikey:ops' },
    ]);
  });

  it('refuses an expression that does not compile, with its position', async () => {
    const err = await store.save('crm/accounts', '{ "name": Name ', null, admin).catch((e) => e);
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'source', position: expect.any(Number), mappingCode: 'MAPPING_COMPILE_FAILED' });
    expect(await active('crm/accounts')).toEqual([]);
  });

  it('refuses what fails a fixture, naming it; force with a reason saves it and says what failed', async () => {
    const breaking = '{ "entity": "customer", "name": Name ? Name : "?" }';
    const err = await store.save('crm/accounts', breaking, null, admin).catch((e) => e);
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'source', fixture: 'no name, no name field' });
    expect(err.message).toContain('fails its fixture "no name, no name field"');
    expect(await active('crm/accounts')).toEqual([]);

    await expect(store.save('crm/accounts', breaking, null, admin, { force: true })).rejects.toMatchObject({ extensions: { field: 'reason' } });
    const forced = await store.save('crm/accounts', breaking, 'placeholder names', admin, { force: true, reason: 'portal needs a name' });
    expect(forced.failingFixtures.map((f) => f.fixture)).toEqual(['no name, no name field']);
    expect((await store.get('crm/accounts')).versions[0]).toMatchObject({
      version: 1, active: true, forced: { reason: 'portal needs a name', failingFixtures: ['no name, no name field'] },
    });
  });

  it('checks expectError fixtures too', async () => {
    const err = await store.save('erp/orders', '{ "amount": amount }', null, admin).catch((e) => e);
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fixture: 'refuses an empty order' });
    expect(err.message).toContain('expected an error containing "has no amount"');
  });

  it('runs fixtures in the sandbox: a catastrophic regex is refused with MAPPING_TIMEOUT instead of hanging', async () => {
    const err = await store.save('crm/accounts', '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)', null, admin).catch((e) => e);
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'source', fixture: 'copies the name', mappingCode: 'MAPPING_TIMEOUT' });
    expect(err.message).toContain('Mapping crm/accounts: stopped after 1500 ms');
  });

  it('rolls back to the previous version, past the first to the file, or to a given version', async () => {
    for (const n of [1, 2, 3]) await store.save('crm/deep/nested', `"v${n}"`, null, admin);
    await store.rollback('crm/deep/nested', admin);
    expect(await active('crm/deep/nested')).toEqual([2]);
    expect(await engine.evaluate('crm/deep/nested', {})).toBe('v2');
    await store.rollback('crm/deep/nested', admin);
    await store.rollback('crm/deep/nested', admin);
    expect(await active('crm/deep/nested')).toEqual([]);
    expect(await engine.evaluate('crm/deep/nested', {})).toBe('nested');
    expect(engine.get('crm/deep/nested').version).toMatch(/^file:/);
    await expect(store.rollback('crm/deep/nested', admin)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'version' } });

    expect(await store.rollback('crm/deep/nested', admin, 3)).toEqual({ activeVersion: 3 });
    expect(await engine.evaluate('crm/deep/nested', {})).toBe('v3');
    await expect(store.rollback('crm/deep/nested', admin, 9)).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND', field: 'version' } });
    expect(await store.rollback('crm/deep/nested', admin, 0)).toEqual({ activeVersion: null });
    expect(await engine.evaluate('crm/deep/nested', {})).toBe('nested');
    // the next save still numbers after the highest version
    expect((await store.save('crm/deep/nested', '"v4"', null, admin)).version).toBe(4);
  });

  it('never rolls a mapping without a file back past its first version', async () => {
    await sqlRows(db.orm, `insert into mapping_version (name, version, source, created_by, active) values ('legacy/old', 1, '"old"', 'x', true)`);
    await expect(store.rollback('legacy/old', admin)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'version' } });
    expect(await active('legacy/old')).toEqual([1]);
  });

  it('loadActive catches another process up with saves and rollbacks, and does nothing when nothing changed', async () => {
    const otherEngine = new MappingEngine({ root });
    const other = new MappingStore(db.orm, otherEngine, { sandbox });
    await store.save('crm/deep/nested', '"saved 1"', null, admin);
    await store.save('crm/deep/nested', '"saved 2"', null, admin);
    expect(await other.loadActive()).toEqual({ applied: ['crm/deep/nested'], cleared: [], failed: [] });
    expect(await otherEngine.evaluate('crm/deep/nested', {})).toBe('saved 2');
    expect(await other.loadActive()).toEqual({ applied: [], cleared: [], failed: [] });

    // A rollback adds no row (max(id) stays): still seen.
    await store.rollback('crm/deep/nested', admin);
    expect((await other.loadActive()).applied).toEqual(['crm/deep/nested']);
    expect(await otherEngine.evaluate('crm/deep/nested', {})).toBe('saved 1');
    await store.rollback('crm/deep/nested', admin);
    expect((await other.loadActive()).cleared).toEqual(['crm/deep/nested']);
    expect(await otherEngine.evaluate('crm/deep/nested', {})).toBe('nested');
  });

  it('keeps the previous mapping in force when a saved version no longer compiles', async () => {
    await sqlRows(db.orm, `insert into mapping_version (name, version, source, created_by, active) values ('crm/deep/nested', 1, '"unclosed', 'x', true)`);
    const result = await store.loadActive();
    expect(result.failed).toEqual([expect.objectContaining({ name: 'crm/deep/nested', version: 1 })]);
    expect(await engine.evaluate('crm/deep/nested', {})).toBe('nested');
    expect((await store.loadActive()).failed).toEqual([]); // reported once
  });

  it('numbers concurrent saves one after the other, with exactly one active', async () => {
    const saves = await Promise.all([1, 2, 3].map((n) => store.save('crm/deep/nested', `"c${n}"`, null, admin)));
    expect(saves.map((s) => s.version).sort()).toEqual([1, 2, 3]);
    expect(await active('crm/deep/nested')).toEqual([3]);
  });
});
