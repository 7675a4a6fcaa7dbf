/**
 * Excel pushes over GraphQL: write-backs without a ticket show their origin (ticketNumber null)
 * and are found by origin prefix, LIKE wildcards in the prefix taken literally. No worker runs.
 */
import { insertOutboxRows } from '../../src/writeback/outbox';
import { pushRowsOf } from '../../src/excel/push';
import { loadTemplate } from '../../src/excel/template';
import { bulkExecutor } from '../../src/db/sql';
import { startTestHub, TestHub } from '../support/server';
import { cleanQueuePrefix, testQueuePrefix } from '../support/queues';

let hub: TestHub;
let prefix: string;

beforeAll(async () => {
  prefix = testQueuePrefix();
  hub = await startTestHub({ queuePrefix: prefix });
  const t = { ...loadTemplate('devices'), push: [{ name: 'mes-devices', connector: 'mes', operation: 'post', mapping: 'http-json/mes-device' }] };
  await hub.server.orm.em.fork().transactional(async (em) => {
    for (const file of ['a_b.xlsx', 'aXb.xlsx']) {
      const rows = pushRowsOf(t, { file, sheet: '设备', at: '2026-11-23T08:00:00.000Z' }, [
        { row: 2, hash: `${file}-h2`, key: 'SN-1', records: [{ entity: 'device', serial: 'SN-1' }] },
        { row: 3, hash: `${file}-h3`, key: 'SN-2', records: [{ entity: 'device', serial: 'SN-2' }] },
      ]);
      await insertOutboxRows(bulkExecutor(em), rows);
    }
  });
});
afterAll(async () => {
  await hub.stop();
  await cleanQueuePrefix(prefix);
});

describe('Excel pushes over GraphQL', () => {
  const q = `query($origin: String) { writeBacks(origin: $origin) { totalCount edges { node { origin ticketNumber ticketVersion route connector operation mapping status } } } }`;

  it('writeBacks(origin:) finds one file\'s pushes by prefix; _ in a file name is not a wildcard', async () => {
    const res = await hub.gql(q, { origin: 'excel:devices:a_b.xlsx#' }, hub.keys.admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.writeBacks.totalCount).toBe(2);
    expect(res.data.writeBacks.edges.map((e: any) => e.node)).toEqual([
      { origin: 'excel:devices:a_b.xlsx#设备!3', ticketNumber: null, ticketVersion: null, route: 'excel:devices:mes-devices', connector: 'mes', operation: 'post', mapping: 'http-json/mes-device', status: 'PENDING' },
      { origin: 'excel:devices:a_b.xlsx#设备!2', ticketNumber: null, ticketVersion: null, route: 'excel:devices:mes-devices', connector: 'mes', operation: 'post', mapping: 'http-json/mes-device', status: 'PENDING' },
    ]);
    expect((await hub.gql(q, { origin: 'excel:devices:' }, hub.keys.admin)).data.writeBacks.totalCount).toBe(4);
    expect((await hub.gql(q, { origin: 'excel:devices:a%' }, hub.keys.admin)).data.writeBacks.totalCount).toBe(0);
    expect((await hub.gql(q, { origin: 'excel:devices:a' })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
