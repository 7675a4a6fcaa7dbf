/**
 * Sync over GraphQL against a real gateway: `syncRuns` (filters, paging, roles) over rows written
 * with SQL, and `runSync` putting jobs on a test-prefixed queue that a worker started here (real
 * pipeline, Kingdee sandbox as the source) turns into sync_run rows.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { sqlRows } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { closeInstances, loadSyncSetup, SyncSetup } from '../../src/sync/instances';
import { SyncPipeline } from '../../src/sync/pipeline';
import { createSyncQueue, SyncQueue } from '../../src/sync/queue';
import { startSyncWorker, SyncWorker } from '../../src/sync/worker';
import { startKingdeeSandbox, KingdeeSandbox } from '../../connectors/kingdee/sandbox/server';
import { SANDBOX_ACCT_ID, SANDBOX_PASSWORD, SANDBOX_USER } from '../../connectors/kingdee/sandbox/data';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL } from '../support/queues';
import { startTestHub, TestHub } from '../support/server';

const RUN_FIELDS = 'id connector stream mode status trigger startedAt finishedAt durationMs pages fetched unchanged merged failed error';

let hub: TestHub;
let sandbox: KingdeeSandbox;
let dir: string;
let prefix: string;
let queue: SyncQueue;

beforeAll(async () => {
  sandbox = await startKingdeeSandbox({ port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'junction-sync-api-'));
  const configFile = join(dir, 'junction.config.yaml');
  writeFileSync(configFile, `
connectors:
  - name: erp
    type: kingdee
    baseUrl: ${sandbox.url}
    sandbox: true
    credentials: { username: { value: ${SANDBOX_USER} }, password: { value: '${SANDBOX_PASSWORD}' } }
    options: { acctId: ${SANDBOX_ACCT_ID} }
    streams:
      customers: { pageSize: 25 }
`);
  prefix = testQueuePrefix();
  hub = await startTestHub({ queuePrefix: prefix, connectorsConfig: configFile });
  queue = createSyncQueue({ connection: TEST_REDIS_URL, prefix });
});
afterAll(async () => {
  await hub.stop();
  await queue.close();
  await cleanQueuePrefix(prefix);
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('syncRuns', () => {
  const at = (s: string) => new Date(`2026-11-2${s}Z`);
  beforeAll(async () => {
    // Eight runs of two made-up connectors, oldest first (ids ascend).
    const rows: Array<[string, string, string, string, string, Date, Date | null, number, number, string | null]> = [
      ['crm', 'accounts', 'incremental', 'SUCCEEDED', 'schedule', at('0T08:00:00'), at('0T08:00:02.5'), 120, 120, null],
      ['crm', 'cases', 'full', 'PARTIAL', 'api', at('0T08:05:00'), at('0T08:06:00'), 50, 47, null],
      ['crm', 'accounts', 'incremental', 'FAILED', 'schedule', at('0T08:15:00'), at('0T08:15:01'), 0, 0, 'CONNECTOR_UNAVAILABLE: 503 from crm'],
      ['iot', 'devices', 'incremental', 'SUCCEEDED', 'schedule', at('0T08:20:00'), at('0T08:20:04'), 10, 10, null],
      ['crm', 'accounts', 'remap', 'SUCCEEDED', 'cli', at('0T08:30:00'), at('0T08:30:03'), 120, 120, null],
      ['iot', 'devices', 'incremental', 'PARTIAL', 'demo', at('0T08:35:00'), at('0T08:35:02'), 10, 9, null],
      ['crm', 'accounts', 'incremental', 'SUCCEEDED', 'schedule', at('0T08:45:00'), at('0T08:45:01'), 3, 3, null],
      ['crm', 'cases', 'incremental', 'RUNNING', 'api', at('0T08:50:00'), null, 0, 0, null],
    ];
    for (const [connector, stream, mode, status, trigger, started, finished, fetched, merged, error] of rows) {
      await sqlRows(hub.server.orm,
        `insert into sync_run (connector, stream, mode, status, trigger, started_at, finished_at, pages, fetched, unchanged, merged, failed, error)
         values (?, ?, ?, ?, ?, ?, ?, 1, ?, 0, ?, ?, ?)`,
        [connector, stream, mode, status, trigger, started, finished, fetched, merged, fetched - merged, error]);
    }
  });

  const q = `query($connector: String, $stream: String, $status: SyncRunStatus, $first: Int, $after: String) {
    syncRuns(connector: $connector, stream: $stream, status: $status, first: $first, after: $after) {
      totalCount edges { cursor node { ${RUN_FIELDS} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

  it('lists runs newest first with every field', async () => {
    const r = await hub.gql(q, { connector: 'crm', stream: 'accounts' }, hub.keys.admin);
    expect(r.errors).toBeUndefined();
    const nodes = r.data.syncRuns.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => [n.mode, n.status, n.trigger])).toEqual([
      ['INCREMENTAL', 'SUCCEEDED', 'SCHEDULE'],
      ['REMAP', 'SUCCEEDED', 'CLI'],
      ['INCREMENTAL', 'FAILED', 'SCHEDULE'],
      ['INCREMENTAL', 'SUCCEEDED', 'SCHEDULE'],
    ]);
    expect(Number(nodes[0].id)).toBeGreaterThan(Number(nodes[1].id));
    expect(nodes[3]).toMatchObject({
      connector: 'crm', stream: 'accounts', startedAt: '2026-11-20T08:00:00.000Z', finishedAt: '2026-11-20T08:00:02.500Z',
      durationMs: 2500, pages: 1, fetched: 120, unchanged: 0, merged: 120, failed: 0, error: null,
    });
    expect(nodes[2]).toMatchObject({ status: 'FAILED', error: 'CONNECTOR_UNAVAILABLE: 503 from crm', durationMs: 1000 });
    expect(r.data.syncRuns.totalCount).toBe(4);
  });

  it('filters by connector, stream and status; a running run has no finish or duration yet', async () => {
    const partial = await hub.gql(q, { status: 'PARTIAL' }, hub.keys.admin);
    expect(partial.data.syncRuns.edges.map((e: any) => [e.node.connector, e.node.stream, e.node.failed])).toEqual([['iot', 'devices', 1], ['crm', 'cases', 3]]);
    const iot = await hub.gql(q, { connector: 'iot' }, hub.keys.admin);
    expect(iot.data.syncRuns.totalCount).toBe(2);
    const running = await hub.gql(q, { connector: 'crm', status: 'RUNNING' }, hub.keys.admin);
    expect(running.data.syncRuns.edges.map((e: any) => e.node)).toEqual([expect.objectContaining({ stream: 'cases', finishedAt: null, durationMs: null })]);
    const none = await hub.gql(q, { connector: 'crm', stream: 'devices' }, hub.keys.admin);
    expect(none.data.syncRuns).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('pages with first/after without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const r: any = await hub.gql(q, { connector: 'crm', first: 2, after }, hub.keys.batch);
      expect(r.errors).toBeUndefined();
      const page = r.data.syncRuns;
      seen.push(...page.edges.map((e: any) => e.node.id));
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    expect([...seen].sort((a, b) => Number(b) - Number(a))).toEqual(seen);
  });

  it('is readable with admin and batch keys, not portal keys', async () => {
    expect((await hub.gql(q, {}, hub.keys.batch)).errors).toBeUndefined();
    const portal = await hub.gql(q, {}, hub.keys.portal);
    expect(portal.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'syncRuns' });
    expect(portal.data).toBeNull();
  });

  it('refuses bad paging input with BAD_USER_INPUT naming the argument', async () => {
    const first = await hub.gql(q, { first: 0 }, hub.keys.admin);
    expect(first.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const after = await hub.gql(q, { after: 'not-a-cursor' }, hub.keys.admin);
    expect(after.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const status = await hub.gql(q, { status: 'DONE' }, hub.keys.admin);
    expect(status.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });
});

describe('runSync', () => {
  const run = `mutation($connector: String!, $stream: String, $full: Boolean) {
    runSync(connector: $connector, stream: $stream, full: $full) { id connector stream full deduplicated }
  }`;
  let setup: SyncSetup;
  let worker: SyncWorker | null = null;

  afterAll(async () => {
    await worker?.close();
    if (setup) await closeInstances(setup.instances);
  });

  it('queues a run of one stream; asking again while it is queued returns the same job', async () => {
    const first = await hub.gql(run, { connector: 'erp', stream: 'customers' }, hub.keys.admin);
    expect(first.errors).toBeUndefined();
    const [job] = first.data.runSync;
    expect(job).toMatchObject({ connector: 'erp', stream: 'customers', full: false, deduplicated: false });
    const queued = await queue.getJob(job.id);
    expect(queued?.data).toEqual({ connector: 'erp', stream: 'customers', full: false, trigger: 'api' });
    expect(await queued!.getState()).toBe('waiting');

    const again = await hub.gql(run, { connector: 'erp', stream: 'customers', full: true }, hub.keys.admin);
    expect(again.data.runSync).toEqual([{ id: job.id, connector: 'erp', stream: 'customers', full: false, deduplicated: true }]);
    expect(await queue.getWaitingCount()).toBe(1);
  });

  it('is processed by a worker into a sync_run row that syncRuns shows', async () => {
    setup = loadSyncSetup(join(dir, 'junction.config.yaml'));
    const pipeline = new SyncPipeline(hub.server.orm, new MappingEngine(), setup.instances);
    worker = startSyncWorker({ connection: TEST_REDIS_URL, prefix, orm: hub.server.orm, pipeline, instances: setup.instances });
    const [waiting] = await queue.getWaiting();
    await eventually(async () => (await queue.getJobState(waiting.id!)) === 'completed', 15_000, 'the job to complete');

    const r = await hub.gql(`{ syncRuns(connector: "erp", first: 5) { edges { node { ${RUN_FIELDS} } } } }`, {}, hub.keys.batch);
    const [node] = r.data.syncRuns.edges.map((e: any) => e.node);
    expect(node).toMatchObject({ connector: 'erp', stream: 'customers', mode: 'INCREMENTAL', status: 'SUCCEEDED', trigger: 'API', fetched: 40, merged: 40, pages: 2, error: null });
    expect(node.durationMs).toBeGreaterThanOrEqual(0);
    expect((await queue.getJob(waiting.id!))!.returnvalue).toMatchObject({ runId: node.id, status: 'SUCCEEDED' });

    // Finished: the stream can be queued again, and this time as a full read.
    const next = await hub.gql(run, { connector: 'erp', stream: 'customers', full: true }, hub.keys.admin);
    expect(next.data.runSync[0]).toMatchObject({ full: true, deduplicated: false });
    await eventually(async () => (await queue.getJobState(next.data.runSync[0].id)) === 'completed', 15_000, 'the full run');
    const [full] = await sqlRows<any>(hub.server.orm, `select mode, status, trigger, unchanged from sync_run where connector = 'erp' order by id desc limit 1`);
    expect(full).toEqual({ mode: 'full', status: 'SUCCEEDED', trigger: 'api', unchanged: 40 });
  });

  it('queues every stream of the connector when stream is omitted', async () => {
    await worker?.close();
    worker = null;
    const r = await hub.gql(run, { connector: 'erp' }, hub.keys.admin);
    expect(r.errors).toBeUndefined();
    expect(r.data.runSync.map((j: any) => j.stream)).toEqual(['customers', 'materials', 'sales_orders', 'serials', 'inventory']);
    expect(new Set(r.data.runSync.map((j: any) => j.id)).size).toBe(5);
    expect((await queue.getWaiting()).map((j) => j.data.stream).sort()).toEqual(['customers', 'inventory', 'materials', 'sales_orders', 'serials']);
  });

  it('names the field at fault for an unknown connector or stream, listing the valid names', async () => {
    const c = await hub.gql(run, { connector: 'crm' }, hub.keys.admin);
    expect(c.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'connector' });
    expect(c.errors![0].message).toBe('unknown connector "crm" (configured: erp)');
    const s = await hub.gql(run, { connector: 'erp', stream: 'customer' }, hub.keys.admin);
    expect(s.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'stream' });
    expect(s.errors![0].message).toBe('unknown stream "customer" of connector erp (streams: customers, materials, sales_orders, serials, inventory)');
  });

  it('is for admin keys only', async () => {
    const before = await queue.count();
    for (const key of [hub.keys.portal, hub.keys.batch]) {
      const r = await hub.gql(run, { connector: 'erp', stream: 'materials' }, key);
      expect(r.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'runSync' });
    }
    expect(await queue.count()).toBe(before);
  });
});
