/**
 * When the worker looks for its key at the target before writing (real PostgreSQL, real Redis, the
 * ThingsBoard sandbox): never on a row's first pick (nothing can have written it), always once an
 * earlier attempt may have written (a row picked before, an answer lost), so no write lands twice.
 */
import type { Redis } from 'ioredis';
import { parseConnectorsConfig } from '../connectors';
import { bulkExecutor, sqlOne, sqlRows } from '../db/sql';
import { MappingEngine } from '../mapping/engine';
import { closeInstances, loadSyncSetup } from '../sync/instances';
import type { ConnectorInstance } from '../sync/pipeline';
import { redisConnection } from '../sync/queue';
import { startThingsBoardSandbox, ThingsBoardSandbox } from '../../connectors/thingsboard/sandbox/server';
import { SANDBOX_PASSWORD, SANDBOX_USERNAME } from '../../connectors/thingsboard/sandbox/data';
import { useTestDatabase } from '../../tests/support/databases';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL } from '../../tests/support/queues';
import { ticketTag } from './change';
import { insertOutboxRows, OutboxRowInput } from './outbox';
import { startWritebackRuntime, WritebackRuntime } from './runtime';
import { idempotencyKeyOf } from './worker';

const db = useTestDatabase();
let tb: ThingsBoardSandbox;
let instances: Map<string, ConnectorInstance>;
let connection: Redis;
let prefix: string;
let runtime: WritebackRuntime | null = null;
let n = 0;

function change(deviceId: string): OutboxRowInput {
  const number = `T20261123-${String(++n).padStart(4, '0')}`;
  const at = new Date().toISOString();
  return {
    ticketId: String(n), ticketNumber: number, ticketVersion: 2, route: 'iot-maintenance', connector: 'iot', operation: 'maintenanceAttribute',
    mapping: 'thingsboard/maintenance', targetKey: `iot:device:${deviceId}`,
    payload: {
      tag: ticketTag(number), changed: ['status'],
      ticket: { number, version: 2, status: 'RESOLVED', priority: 'P2', fault: 'E1', solution: 'fixed', blockingReason: null,
        category: { level1: null, level2: null, level3: null }, resolvedAt: at, closedAt: null, updatedAt: at },
      customer: { id: '1', name: 'x', phone: '+8613800000001' }, device: null,
      target: { entity: 'device', stream: 'devices', externalId: deviceId, version: null },
    },
  };
}

/** Inserts the rows (and runs `before` in the same transaction), then starts relay and worker. */
async function run(rows: OutboxRowInput[], before?: (ids: string[]) => Promise<unknown>): Promise<string[]> {
  const ids = await db.orm.em.fork().transactional(async (em) => {
    const out = await insertOutboxRows(bulkExecutor(em), rows);
    await before?.(out);
    return out;
  });
  runtime = await startWritebackRuntime({
    orm: db.orm, engine: new MappingEngine(), instances, connection, prefix, concurrency: 4,
    jobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 50 } }, relayOptions: { pollMs: 200 },
    workerOptions: { unreachableDelayMs: 50 },
  });
  return ids;
}
const settled = (id: string) =>
  eventually(async () => {
    const r = await sqlOne<{ status: string; result: any; attempts: number }>(db.orm, `select status, result, attempts from writeback_outbox where id = ?`, [id]);
    return r && ['APPLIED', 'DEAD'].includes(r.status) ? r : undefined;
  }, 20_000, `write-back ${id} to settle`);
/** The sandbox requests that touched one device: look-ups (GET) and writes (POST). */
const calls = (deviceId: string) => {
  const mine = tb.control.stats.requests.filter((r) => r.path.includes(deviceId));
  return { lookups: mine.filter((r) => r.method === 'GET').length, writes: mine.filter((r) => r.method === 'POST').length };
};

beforeAll(async () => {
  tb = await startThingsBoardSandbox();
  instances = loadSyncSetup(undefined, {
    config: parseConnectorsConfig(`connectors:
  - name: iot
    type: thingsboard
    baseUrl: ${tb.url}
    sandbox: true
    timeoutMs: 2000
    credentials: { username: { value: "${SANDBOX_USERNAME}" }, password: { value: "${SANDBOX_PASSWORD}" } }
`),
    logger: () => undefined,
  }).instances;
});
afterAll(async () => {
  await closeInstances(instances);
  await tb.close();
});
beforeEach(() => {
  prefix = testQueuePrefix();
  connection = redisConnection(TEST_REDIS_URL);
  tb.control.resetStats();
  tb.control.clearInjections();
});
afterEach(async () => {
  await runtime?.close();
  runtime = null;
  connection.disconnect();
  await cleanQueuePrefix(prefix);
});

describe('write-back look-up before writing', () => {
  it('a first pick writes without a look-up; a row picked before (its worker died mid-write) looks up and finds the earlier write', async () => {
    const [fresh, again] = tb.control.devices().slice(0, 2).map((d) => d.device.id.id);
    const [freshId, againId] = await run([change(fresh), change(again)], async ([, id]) => {
      await sqlRows(db.orm, `update writeback_outbox set picked_at = now() - interval '1 minute' where id = ?`, [id]);
      // what the earlier attempt wrote before its worker died
      tb.control.setAttributes(again, 'SERVER_SCOPE', { junctionMaintenance: { ticket: 'earlier attempt', key: idempotencyKeyOf(id) } });
    });

    expect(await settled(freshId)).toMatchObject({ status: 'APPLIED', attempts: 1 });
    expect((await settled(freshId)).result.duplicate).toBeUndefined();
    expect(calls(fresh)).toEqual({ lookups: 0, writes: 1 });
    expect(tb.control.effects.count(idempotencyKeyOf(freshId))).toBe(1);

    expect(await settled(againId)).toMatchObject({ status: 'APPLIED', result: { duplicate: true } });
    expect(calls(again)).toEqual({ lookups: 1, writes: 0 });
    expect(tb.control.device(again)!.attributes.SERVER_SCOPE.junctionMaintenance.value).toMatchObject({ ticket: 'earlier attempt' });
  });

  it('an attempt whose answer was lost (written, connection cut) looks up on its next try: one effect, recorded as a duplicate', async () => {
    const device = tb.control.devices()[2].device.id.id;
    tb.control.loseResponseNext(1, { method: 'POST', path: device });
    const [id] = await run([change(device)]);
    expect(await settled(id)).toMatchObject({ status: 'APPLIED', result: { duplicate: true } });
    expect(calls(device)).toEqual({ lookups: 1, writes: 1 });
    expect(tb.control.effects.count(idempotencyKeyOf(id))).toBe(1);
  });
});
