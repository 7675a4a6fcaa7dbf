/**
 * Writes to one target record, in order (real PostgreSQL, real Redis, a fake connector the test
 * controls): a job behind an open earlier write waits without churning the database or the queue,
 * and an older write retried by an admin never lands after a newer one already on its way.
 */
import type { Redis } from 'ioredis';
import { ConnectorError } from '../connectors';
import type { WriteContext, WriteOperation } from '../connectors/contract';
import { bulkExecutor, sqlOne, sqlRows } from '../db/sql';
import { MappingEngine } from '../mapping/engine';
import type { ConnectorInstance } from '../sync/pipeline';
import { redisConnection } from '../sync/queue';
import { useTestDatabase } from '../../tests/support/databases';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL } from '../../tests/support/queues';
import { WritebackAdmin } from './admin';
import { ticketTag } from './change';
import { insertOutboxRows, OutboxRowInput } from './outbox';
import { jobIdOf } from './queue';
import { startWritebackRuntime, WritebackRuntime } from './runtime';
import { idempotencyKeyOf } from './worker';

const db = useTestDatabase();
let connection: Redis;
let prefix: string;
let runtime: WritebackRuntime | null = null;
/** Held-back vendor answers: released before the worker closes (it waits for its active jobs). */
let gates: (() => void)[] = [];
let n = 0;

/** A change to the ThingsBoard device `deviceId` (route iot-maintenance: ordering latest). */
function change(deviceId: string, solution: string): OutboxRowInput {
  const number = `T20261206-${String(++n).padStart(4, '0')}`;
  const at = new Date().toISOString();
  return {
    ticketId: '1', ticketNumber: number, ticketVersion: n, route: 'iot-maintenance', connector: 'iot', operation: 'maintenanceAttribute',
    mapping: 'thingsboard/maintenance', targetKey: `iot:device:${deviceId}`,
    payload: {
      tag: ticketTag(number), changed: ['solution'],
      ticket: { number, version: n, status: 'RESOLVED', priority: 'P2', fault: 'E1', solution, blockingReason: null,
        category: { level1: null, level2: null, level3: null }, resolvedAt: at, closedAt: null, updatedAt: at },
      customer: { id: '1', name: 'x', phone: '+8613800000001' }, device: null,
      target: { entity: 'device', stream: 'devices', externalId: deviceId, version: null },
    },
  };
}

/** The fake ThingsBoard: one attribute value per device, every call logged. */
function fakeIot(write: (payload: any, ctx: WriteContext) => Promise<void>) {
  const values = new Map<string, string>();
  const calls: string[] = [];
  const op: WriteOperation = async (payload, ctx) => {
    calls.push(ctx.idempotencyKey);
    await write(payload, ctx);
    values.set(ctx.targetId!, (payload as any).junctionMaintenance.solution);
    return { externalId: ctx.targetId! };
  };
  const instance: ConnectorInstance = {
    name: 'iot', type: 'thingsboard', system: 'iot',
    connector: { name: 'iot', streams: {}, healthCheck: async () => ({ ok: true }), write: { maintenanceAttribute: op } },
  };
  return { instances: new Map([['iot', instance]]), values, calls };
}

const insert = (rows: OutboxRowInput[]) => db.orm.em.fork().transactional((em) => insertOutboxRows(bulkExecutor(em), rows));
const row = (id: string) =>
  sqlOne<{ status: string; result: any; picked_at: string | null; xmin: string }>(db.orm, `select status, result, picked_at, xmin::text as xmin from writeback_outbox where id = ?`, [id]);
const final = (id: string) =>
  eventually(async () => {
    const r = await row(id);
    return r && ['APPLIED', 'SKIPPED', 'CONFLICT', 'DEAD', 'DISCARDED'].includes(r.status) ? r : undefined;
  }, 20_000, `write-back ${id} to finish`);

async function start(instances: Map<string, ConnectorInstance>, workerOptions: Record<string, unknown> = {}) {
  runtime = await startWritebackRuntime({
    orm: db.orm, engine: new MappingEngine(), instances, connection, prefix, concurrency: 8,
    jobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 50 } }, relayOptions: { pollMs: 100 },
    workerOptions: { orderDelayMs: 20, unreachableDelayMs: 50, ...workerOptions },
  });
  return runtime;
}

beforeEach(() => {
  prefix = testQueuePrefix();
  connection = redisConnection(TEST_REDIS_URL);
});
afterEach(async () => {
  for (const release of gates) release();
  gates = [];
  await runtime?.close();
  runtime = null;
  connection.disconnect();
  await cleanQueuePrefix(prefix);
});

describe('write-back ordering per target', () => {
  it('jobs behind a write that waits for an unreachable connector re-check with backoff and write nothing to their rows meanwhile', async () => {
    let reachable = false;
    const iot = fakeIot(async () => {
      if (!reachable) throw new ConnectorError({ code: 'CONNECTOR_UNAVAILABLE', connector: 'iot', message: 'connect ECONNREFUSED 127.0.0.1:9' });
    });
    const [first, second, third] = await insert([change('dev-a', 'one'), change('dev-a', 'two'), change('dev-a', 'three')]);
    const rt = await start(iot.instances);
    await eventually(async () => (await row(first))!.status === 'RETRYING', 10_000, 'the first write to wait for its connector');
    const blocked = await eventually(async () => {
      const r = await Promise.all([row(second), row(third)]);
      return r.every((x) => x!.status === 'QUEUED') ? r : undefined;
    }, 10_000, 'the later writes to be queued');

    await new Promise((r) => setTimeout(r, 3000)); // a fixed 20 ms re-check would come round ~100 times in this
    const starts = await Promise.all([second, third].map(async (id) => (await rt.queue.getJob(jobIdOf(id)))!.attemptsStarted));
    // exponential from 20 ms, jittered: at most 9 starts in 3 s (the fixed 20 ms delay gave ~30)
    process.stdout.write(`blocked job starts in 3 s: ${starts.join(", ")}\n`);
    for (const s of starts) expect(s).toBeLessThanOrEqual(12);
    // merely blocked: neither picked nor rewritten (the pick's durable UPDATE is for rows that go on to write)
    const after = await Promise.all([row(second), row(third)]);
    after.forEach((r, i) => expect(r).toMatchObject({ status: 'QUEUED', picked_at: null, xmin: blocked[i]!.xmin }));
    expect(iot.calls.every((k) => k === idempotencyKeyOf(first))).toBe(true);

    reachable = true;
    for (const id of [first, second, third]) expect(await final(id)).toMatchObject({ status: 'APPLIED' });
    expect([...new Set(iot.calls)]).toEqual([first, second, third].map(idempotencyKeyOf)); // in id order
    expect(iot.values.get('dev-a')).toBe('three');
  });

  it('a job behind an earlier write goes as soon as that write is done (woken), not at its next look', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => gates.push((release = r)));
    const ids: string[] = [];
    const iot = fakeIot(async (_payload, ctx) => {
      if (ctx.idempotencyKey === idempotencyKeyOf(ids[0])) await gate; // the first write is in flight
    });
    ids.push(...(await insert([change('dev-b', 'one'), change('dev-b', 'two'), change('dev-b', 'three')])));
    // the first look again would be 5-10 min away: only a wake-up gets them out within the test
    const rt = await start(iot.instances, { orderDelayMs: 600_000, orderMaxDelayMs: 600_000 });
    await eventually(async () => iot.calls.length === 1, 10_000, 'the first write to be in flight');
    await eventually(async () => {
      const states = await Promise.all(ids.slice(1).map(async (id) => (await rt.queue.getJob(jobIdOf(id)))?.getState()));
      return states.every((s) => s === 'delayed');
    }, 10_000, 'the later writes to wait for it');

    release();
    for (const id of ids) expect(await final(id)).toMatchObject({ status: 'APPLIED' });
    expect(iot.calls).toEqual(ids.map(idempotencyKeyOf));
    expect(iot.values.get('dev-b')).toBe('three');
  });

  it('latest route: an older write retried by an admin while a newer one is on its way is skipped as stale, never written over it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => gates.push((release = r)));
    const ids: string[] = [];
    const iot = fakeIot(async (payload, ctx) => {
      if (ctx.idempotencyKey !== idempotencyKeyOf(ids[1])) return;
      iot.values.set(ctx.targetId!, payload.junctionMaintenance.solution); // the vendor has it; its answer is held back
      await gate;
    });
    ids.push(...(await insert([change('dev-c', 'older'), change('dev-c', 'newer')])));
    const [older, newer] = ids;
    // the older one died earlier (a 4xx since fixed, say); an admin will retry it
    await sqlRows(db.orm, `update writeback_outbox set status = 'DEAD', attempts = 1, picked_at = now(), finished_at = now() where id = ?`, [older]);
    const rt = await start(iot.instances);
    await eventually(async () => iot.calls.includes(idempotencyKeyOf(newer)), 10_000, 'the newer write to be in flight');

    const admin = new WritebackAdmin(db.orm, { redisUrl: TEST_REDIS_URL, prefix, queue: rt.queue });
    await admin.retry(older, { name: 'admin', origin: 'test' });
    expect(await final(older)).toMatchObject({ status: 'SKIPPED', result: { stale: true, newerInFlight: newer } });
    expect(iot.values.get('dev-c')).toBe('newer');
    expect(iot.calls).not.toContain(idempotencyKeyOf(older));

    release();
    expect(await final(newer)).toMatchObject({ status: 'APPLIED' });
    expect(iot.values.get('dev-c')).toBe('newer');
  });
});
