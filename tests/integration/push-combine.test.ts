/**
 * Pushed records combine with what is stored (webhooks): two first pushes of one record in
 * concurrent transactions must not drop each other's fields. The second waits for the first's
 * per-record lock (seen in pg_locks, no timing) and combines over it.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Connector } from '../../src/connectors';
import { sqlRows } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { CombinePayload, SyncPipeline } from '../../src/sync/pipeline';
import { useTestDatabase } from '../support/databases';
import { untilAdvisoryLockWaits } from '../support/locks';

const db = useTestDatabase();
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'junction-push-'));
  mkdirSync(join(root, 'testiot'));
  writeFileSync(join(root, 'testiot', 'devices.jsonata'), '{ "entity": "telemetry", "serial": serial, "runCount": runCount, "online": online }');
});
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
});

it('two concurrent first pushes of one record keep both fields', async () => {
  const connector: Connector = { name: 'iot', streams: { devices: { name: 'devices', entity: 'telemetry', async *read() { /* push only */ } } }, healthCheck: async () => ({ ok: true }) };
  const pipeline = new SyncPipeline(db.orm, new MappingEngine({ root }), new Map([['iot', { name: 'iot', type: 'testiot', system: 'iot', connector }]]));
  const combine: CombinePayload = (stored, incoming) => ({ ...incoming, payload: { ...((stored?.payload as object) ?? {}), ...(incoming.payload as object) } });
  const push = (fields: Record<string, unknown>) => ({ externalId: 'dev-1', payload: { serial: 'SN-PUSH-1', ...fields } });

  const first = db.orm.em.fork();
  await first.begin();
  await pipeline.ingestPage('iot', 'devices', [push({ runCount: 7 })], { em: first, combine });
  const second = pipeline.ingestPage('iot', 'devices', [push({ online: true })], { combine });
  await untilAdvisoryLockWaits(db.orm);
  await first.commit();
  await second;

  const [row] = await sqlRows<any>(db.orm, `select payload from source_record where connector = 'iot' and stream = 'devices' and external_id = 'dev-1'`);
  expect(row.payload).toEqual({ serial: 'SN-PUSH-1', runCount: 7, online: true });
});
