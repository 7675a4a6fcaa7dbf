/**
 * `junction sync` (src/cli/sync.ts) end to end in-process: a YAML config file naming the Kingdee
 * sandbox (a real HTTP server), the real pipeline, a real database. Checks exit codes, the
 * summary table, progress output, names listed for unknown connectors/streams, and waiting for
 * (or refusing, with --no-wait) a stream another run holds.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Command } from 'commander';
import { sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import { startKingdeeSandbox, KingdeeSandbox } from '../../connectors/kingdee/sandbox/server';
import { SANDBOX_ACCT_ID, SANDBOX_PASSWORD, SANDBOX_USER } from '../../connectors/kingdee/sandbox/data';
import { EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, registerSyncCommand, runSyncCommand, SyncCommandOptions } from '../cli/sync';
import { tryLockStream } from './lock';

const db = useTestDatabase();
let sandbox: KingdeeSandbox;
let dir: string;
let configFile: string;

class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(s: string) { this.text += s; return true; }
}

async function sync(connector: string, opts: Omit<SyncCommandOptions, 'config'> = {}, tty = false) {
  const stdout = new Capture();
  const stderr = new Capture(tty);
  const code = await runSyncCommand(connector, { config: configFile, ...opts }, { stdout, stderr, databaseUrl: db.url, progressEveryMs: 0 });
  return { code, out: stdout.text, err: stderr.text };
}

beforeAll(async () => {
  sandbox = await startKingdeeSandbox({ port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'junction-cli-sync-'));
  configFile = join(dir, 'junction.config.yaml');
  // `schedule` is the hub's setting: the kingdee connector (which refuses unknown stream settings) never sees it.
  writeFileSync(configFile, `
connectors:
  - name: erp
    type: kingdee
    baseUrl: ${sandbox.url}
    sandbox: true
    credentials: { username: { value: ${SANDBOX_USER} }, password: { value: '${SANDBOX_PASSWORD}' } }
    options: { acctId: ${SANDBOX_ACCT_ID} }
    retry: { maxAttempts: 1 }
    streams:
      customers: { pageSize: 25, schedule: { every: 5m } }
      inventory: { schedule: false }
`);
});
afterAll(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => sandbox.control.reset());

describe('junction sync', () => {
  it('syncs one stream: exit 0, plain progress lines on a non-terminal, a summary table on stdout', async () => {
    const r = await sync('erp', { stream: 'customers' });
    expect(r.code).toBe(EXIT_OK);
    expect(r.err).toMatch(/^erp\/customers: incremental sync started\n/);
    expect(r.err).toMatch(/erp\/customers: pages 1 · fetched 25 · unchanged 0 · merged 25 · failed 0 \(/);
    expect(r.err).toMatch(/erp\/customers: SUCCEEDED pages 2 · fetched 40 · unchanged 0 · merged 40 · failed 0 in /);
    expect(r.err).not.toContain('\r');
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('erp:');
    expect(lines[1].split(/\s+/)).toEqual(['stream', 'status', 'pages', 'fetched', 'unchanged', 'merged', 'failed', 'duration', 'run']);
    expect(lines[2]).toMatch(/^customers\s+SUCCEEDED\s+2\s+40\s+0\s+40\s+0\s+\S+\s+#\d+$/);
    // The data checks ran after the stream, named after its run.
    expect(r.err).toMatch(/data checks (SUCCEEDED|PARTIAL): .* \(quality run #\d+\)\n/);
    const [check] = await sqlRows<any>(db.orm, `select trigger from quality_run order by id desc limit 1`);
    expect(check.trigger).toMatch(/^sync:erp \(customers run \d+\)$/);
    const runs = await sqlRows<any>(db.orm, `select status, trigger, mode, fetched from sync_run where stream = 'customers' order by id`);
    expect(runs).toEqual([{ status: 'SUCCEEDED', trigger: 'cli', mode: 'incremental', fetched: 40 }]);
  });

  it('runs every stream of the connector when --stream is omitted', async () => {
    const r = await sync('erp', {});
    expect(r.code).toBe(EXIT_OK);
    const rows = r.out.trim().split('\n').slice(2).map((l) => l.split(/\s+/));
    // stream, status, pages, fetched, unchanged, merged, failed; customers resumed at its cursor: nothing new.
    expect(rows.map((c) => c.slice(0, 7))).toEqual([
      ['customers', 'SUCCEEDED', '1', '0', '0', '0', '0'],
      ['materials', 'SUCCEEDED', '1', '21', '0', '21', '0'],
      ['sales_orders', 'SUCCEEDED', '1', '80', '0', '80', '0'],
      ['serials', 'SUCCEEDED', '1', '80', '0', '80', '0'],
      ['inventory', 'SUCCEEDED', '1', '56', '0', '56', '0'],
    ]);
  });

  it('exits 2 when some records failed, saying where they are and how to retry', async () => {
    sandbox.control.modify('BD_Customer', { FNumber: 'CUST10002' }, { FTEL: 'not-a-phone' });
    sandbox.control.modify('BD_Customer', { FNumber: 'CUST10003' }, { FName: '王芳·新' });
    const r = await sync('erp', { stream: 'customers' });
    expect(r.code).toBe(EXIT_PARTIAL);
    expect(r.out).toMatch(/^customers\s+PARTIAL\s+\d+\s+2\s+0\s+1\s+1\s/m);
    expect(r.out).toContain('customers: 1 record failed (kept with their errors in source_record, status FAILED); after fixing the mapping run: junction sync erp --stream customers --remap');
  });

  it('exits 1 when a stream FAILED, with the error', async () => {
    sandbox.control.failNext(100, 500);
    const r = await sync('erp', { stream: 'customers', full: true });
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.out).toMatch(/^customers\s+FAILED\s/m);
    expect(r.out).toMatch(/customers: FAILED: CONNECTOR_\w+/);
    const [run] = await sqlRows<any>(db.orm, `select status, mode from sync_run order by id desc limit 1`);
    expect(run).toEqual({ status: 'FAILED', mode: 'full' });
  });

  it('remaps stored records without fetching', async () => {
    const before = sandbox.control.requests.length;
    const r = await sync('erp', { stream: 'customers', remap: true });
    expect(sandbox.control.requests.length).toBe(before);
    expect(r.out).toMatch(/^customers\s+PARTIAL\s+\d+\s+40\s+0\s+39\s+1\s/m); // the bad phone is still bad
    expect(r.code).toBe(EXIT_PARTIAL);
    const [run] = await sqlRows<any>(db.orm, `select mode, trigger from sync_run order by id desc limit 1`);
    expect(run).toEqual({ mode: 'remap', trigger: 'cli' });
  });

  it('exits 1 for an unknown connector or stream, listing the valid names', async () => {
    const c = await sync('crm');
    expect(c.code).toBe(EXIT_FAILED);
    expect(c.err).toBe(`junction sync: unknown connector "crm" (configured: erp) in ${configFile}\n`);
    const s = await sync('erp', { stream: 'customer' });
    expect(s.code).toBe(EXIT_FAILED);
    expect(s.err).toBe(`junction sync: unknown stream "customer" of connector erp (streams: customers, materials, sales_orders, serials, inventory) in ${configFile}\n`);
    const both = await sync('erp', { full: true, remap: true });
    expect(both.code).toBe(EXIT_FAILED);
    expect(both.err).toMatch(/--full and --remap cannot be combined/);
    const stderr = new Capture();
    expect(await runSyncCommand('erp', { config: join(dir, 'nope.yaml') }, { stdout: new Capture(), stderr, databaseUrl: db.url })).toBe(EXIT_FAILED);
    expect(stderr.text).toContain('nope.yaml is invalid (1 problem):\n  (file): config file not found');
  });

  it('--no-checks leaves the data checks alone', async () => {
    const [before] = await sqlRows<any>(db.orm, `select count(*)::int as n from quality_run`);
    const r = await sync('erp', { stream: 'inventory', checks: false });
    expect(r.code).toBe(EXIT_OK);
    expect(r.err).not.toContain('data checks');
    const [after] = await sqlRows<any>(db.orm, `select count(*)::int as n from quality_run`);
    expect(after.n).toBe(before.n);
  });

  it('waits for a run of the same stream held elsewhere, or with --no-wait exits 1 naming the holder', async () => {
    const held = await tryLockStream(db.orm, 'erp', 'materials', { holder: 'junction worker' });
    const refused = await sync('erp', { stream: 'materials', wait: false });
    expect(refused.code).toBe(EXIT_FAILED);
    expect(refused.err).toMatch(/^junction sync: erp\/materials is being synced by junction worker sync erp\/materials \(PostgreSQL pid \d+/);
    expect(refused.out).toMatch(/^materials\s+BUSY\s/m);

    const materialRuns = async () => (await sqlRows<any>(db.orm, `select count(*)::int n from sync_run where stream = 'materials'`))[0].n;
    const before = await materialRuns();
    const waiting = sync('erp', { stream: 'materials' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await materialRuns()).toBe(before); // not started while the other run holds the stream
    await held!.release();
    const r = await waiting;
    expect(r.err).toMatch(/erp\/materials is being synced by junction worker sync erp\/materials .*; waiting for it to finish/);
    expect([EXIT_OK, EXIT_PARTIAL]).toContain(r.code);
    expect(await materialRuns()).toBe(before + 1);
  });

  it('draws a progress bar on a terminal', async () => {
    const r = await sync('erp', { stream: 'customers', full: true }, true);
    expect(r.err).toContain('\r\x1b[2K');
    expect(r.err).toMatch(/erp\/customers \[ *==== *\] /);
    const bar = r.err.replace(/data checks .*\n$/, ''); // the checks' line follows the runs
    const last = bar.slice(bar.lastIndexOf('\r'));
    expect(last).toMatch(/^\r.\[2Kerp\/customers: PARTIAL pages 2 · fetched 40 · unchanged 39 · merged 0 · failed 1 in \S+\n$/);
    expect(last.charCodeAt(1)).toBe(0x1b);
  });

  it('maps with the admin-saved version of a mapping when one is active', async () => {
    const source = readFileSync(join(__dirname, '..', '..', 'mappings', 'kingdee', 'customers.jsonata'), 'utf8')
      .replace('"name": FName ? $trim(FName) : null', '"name": FName ? $trim(FName) & " (v7)" : null');
    expect(source).toContain('(v7)');
    await sqlRows(db.orm, `insert into mapping_version (name, version, source, created_by, active) values ('kingdee/customers', 7, ?, 'test', true)`, [source]);
    try {
      const r = await sync('erp', { stream: 'customers', remap: true });
      expect(r.code).toBe(EXIT_PARTIAL); // the record with the bad phone still fails
      const [c] = await sqlRows<any>(db.orm, `select name from customer where phone = '+8613800138000'`);
      expect(c.name).toMatch(/ \(v7\)$/);
      const versions = await sqlRows<any>(db.orm, `select distinct mapping_version from source_record where connector = 'erp' and stream = 'customers'`);
      expect(versions).toEqual([{ mapping_version: 'v7' }]);
    } finally {
      await sqlRows(db.orm, `delete from mapping_version where name = 'kingdee/customers'`);
    }
  });

  it('is wired into the CLI: options reach the command and the exit code is set', async () => {
    const program = new Command().exitOverride();
    registerSyncCommand(program);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'junction', 'sync', 'erp', '-s', 'nope', '--no-wait', '-c', configFile]);
      expect(process.exitCode).toBe(EXIT_FAILED);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toContain('unknown stream "nope" of connector erp');
    } finally {
      err.mockRestore();
      process.exitCode = undefined;
    }
  });
});
