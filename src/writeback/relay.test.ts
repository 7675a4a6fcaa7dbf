/**
 * The relay's sweep against real PostgreSQL and real Redis: rows whose job the queue lost go back
 * to PENDING wherever they sit in the outbox, however many rows ahead of them legitimately wait.
 */
import type { Redis } from 'ioredis';
import { bulkExecutor, sqlRows } from '../db/sql';
import { redisConnection } from '../sync/queue';
import { useTestDatabase } from '../../tests/support/databases';
import { cleanQueuePrefix, eventually, testQueuePrefix, TEST_REDIS_URL } from '../../tests/support/queues';
import { insertOutboxRows, OutboxRowInput } from './outbox';
import { createWritebackQueue, jobIdOf, WRITEBACK_JOB, WritebackQueue } from './queue';
import { OutboxRelay } from './relay';

const db = useTestDatabase();
let connection: Redis;
let prefix: string;
let queue: WritebackQueue;
let n = 0;

function change(): OutboxRowInput {
  const number = `T20261206-${String(++n).padStart(4, '0')}`;
  return {
    ticketId: String(n), ticketNumber: number, ticketVersion: 1, route: 'iot-maintenance', connector: 'iot', operation: 'maintenanceAttribute',
    mapping: 'thingsboard/maintenance', targetKey: `iot:device:sweep-${n}`, payload: { tag: number, target: { externalId: `sweep-${n}`, version: null } },
  };
}
const insert = (rows: OutboxRowInput[]) => db.orm.em.fork().transactional((em) => insertOutboxRows(bulkExecutor(em), rows));
const statusOf = async (ids: string[]) =>
  (await sqlRows<{ id: string; status: string }>(db.orm, `select id, status from writeback_outbox where id = any(?::bigint[]) order by id`, [`{${ids.join(',')}}`])).map((r) => r.status);

beforeEach(() => {
  prefix = testQueuePrefix();
  connection = redisConnection(TEST_REDIS_URL);
  queue = createWritebackQueue(connection, prefix);
});
afterEach(async () => {
  await queue.close();
  connection.disconnect();
  await cleanQueuePrefix(prefix);
});

describe('write-back relay sweep', () => {
  it('reaches a row whose job was lost behind more than a page of rows whose jobs are legitimately delayed', async () => {
    const ids = await insert(Array.from({ length: 13 }, change));
    const lost = [ids[2], ids[12]]; // one in the first page, one behind two full pages of waiting rows
    const waiting = ids.filter((id) => !lost.includes(id));
    // relayed long ago; the waiting ones' jobs are delayed an hour (a 429, an unreachable vendor)
    await sqlRows(db.orm, `update writeback_outbox set status = 'QUEUED', relayed_at = now() - interval '1 hour' where id = any(?::bigint[])`, [`{${ids.join(',')}}`]);
    await queue.addBulk(waiting.map((id) => ({ name: WRITEBACK_JOB, data: { outboxId: id, connector: 'iot' }, opts: { jobId: jobIdOf(id), delay: 3_600_000 } })));
    const relay = new OutboxRelay({ orm: db.orm, queue, sweepPageSize: 5 });
    try {
      expect(await relay.sweep()).toEqual({ requeued: 2, dead: 0 });
      // requeued rows are relayed again: a job each, and the waiting ones left as they were
      await eventually(async () => (await Promise.all(lost.map((id) => queue.getJobState(jobIdOf(id))))).every((s) => s === 'waiting'), 10_000, 'lost rows relayed again');
      expect(await statusOf(ids)).toEqual(ids.map(() => 'QUEUED'));
      for (const id of waiting) expect(await queue.getJobState(jobIdOf(id))).toBe('delayed');
      expect(await relay.sweep()).toEqual({ requeued: 0, dead: 0 });
    } finally {
      await relay.close();
    }
  });
});
