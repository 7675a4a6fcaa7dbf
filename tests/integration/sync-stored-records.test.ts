import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Connector, SourcePage, SourceRecord } from '../../src/connectors';
import { sqlRows } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { ConnectorInstance, SyncPipeline, UNRESOLVED_RECORDS_SQL } from '../../src/sync/pipeline';
import { useTestDatabase } from '../support/databases';

/**
 * What a run does with records it already stores: `remap` dates their values by the source's own
 * time again (not by now), and an incremental run retries its stream's records that failed only
 * because what they refer to had not arrived yet, without the source sending them again.
 */
describe('sync of stored source records', () => {
  const db = useTestDatabase();
  let root: string;
  let pipeline: SyncPipeline;
  /** What each stream's next read delivers (then forgets: an incremental source sends a record once). */
  const queued: Record<string, SourceRecord[]> = { contacts: [], accounts: [], purchases: [] };
  const reads: Record<string, number> = { contacts: 0, accounts: 0, purchases: 0 };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'junction-stored-'));
    mkdirSync(join(root, 'teststored'));
    writeFileSync(join(root, 'teststored', 'contacts.jsonata'), '{ "entity": "customer", "phone": phone, "name": name }');
    writeFileSync(join(root, 'teststored', 'accounts.jsonata'), '{ "entity": "customer", "phone": phone, "name": name }');
    writeFileSync(join(root, 'teststored', 'purchases.jsonata'), '{ "entity": "purchase", "orderNumber": order, "lineNo": 1, "customer": { "phone": phone } }');
    const stream = (name: string) => ({
      name, entity: 'customer',
      async *read(): AsyncIterable<SourcePage> {
        reads[name]++;
        const records = queued[name].splice(0);
        // Two records a page: the retry below pages as well.
        for (let i = 0; i < records.length || i === 0; i += 2) {
          yield { records: records.slice(i, i + 2), cursor: `${name}-${reads[name]}-${i}`, hasMore: i + 2 < records.length };
        }
      },
    });
    const connector: Connector = {
      name: 'crm',
      streams: { contacts: stream('contacts'), accounts: stream('accounts'), purchases: stream('purchases') },
      healthCheck: async () => ({ ok: true }),
    } as unknown as Connector;
    const instance: ConnectorInstance = { name: 'crm', type: 'teststored', system: 'crm', connector };
    pipeline = new SyncPipeline(db.orm, new MappingEngine({ root }), new Map([['crm', instance]]));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const customer = async (phone: string) => (await sqlRows<any>(db.orm, `select name from customer where phone = ?`, [phone]))[0]?.name;

  it('keeps a newer value from another stream when the older one is remapped (equal priority: the source times decide, not now)', async () => {
    const phone = '+8613800138111';
    queued.contacts.push({ externalId: 'B1', version: '1', updatedAt: '2026-01-01T00:00:00.000Z', payload: { phone, name: 'Old Name' } });
    expect((await pipeline.runStream('crm', 'contacts', { trigger: 'cli' })).merged).toBe(1);
    queued.accounts.push({ externalId: 'A1', version: '1', updatedAt: '2026-02-01T00:00:00.000Z', payload: { phone, name: 'New Name' } });
    expect((await pipeline.runStream('crm', 'accounts', { trigger: 'cli' })).merged).toBe(1);
    expect(await customer(phone)).toBe('New Name');

    const remapped = await pipeline.remap('crm', 'contacts', { trigger: 'cli' });
    expect(remapped).toMatchObject({ status: 'SUCCEEDED', merged: 1 });
    expect(await customer(phone)).toBe('New Name');
    const [row] = await sqlRows<any>(db.orm, `select source_updated_at from source_record where stream = 'contacts' and external_id = 'B1'`);
    expect(new Date(row.source_updated_at).toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('retries a purchase whose customer arrives later at the end of its own stream\'s next run, without refetching it', async () => {
    const later = '+8613800138222';
    const never = '+8613800138333';
    queued.purchases.push(
      { externalId: 'P1', version: '1', payload: { order: 'SO-1', phone: later } },
      { externalId: 'P2', version: '1', payload: { order: 'SO-2', phone: never } },
    );
    const first = await pipeline.runStream('crm', 'purchases', { trigger: 'cli' });
    expect(first).toMatchObject({ status: 'PARTIAL', merged: 0, failed: 2 });
    const failed = await sqlRows<any>(db.orm, `select external_id, status, error->>'code' as code from source_record where stream = 'purchases' order by external_id`);
    expect(failed).toEqual([{ external_id: 'P1', status: 'FAILED', code: 'UNRESOLVED_REFERENCE' }, { external_id: 'P2', status: 'FAILED', code: 'UNRESOLVED_REFERENCE' }]);

    queued.contacts.push({ externalId: 'B2', version: '1', payload: { phone: later, name: 'Late Customer' } });
    await pipeline.runStream('crm', 'contacts', { trigger: 'cli' });

    // The source sends nothing new for purchases: its cursor has moved past P1 and P2.
    const before = reads.purchases;
    const second = await pipeline.runStream('crm', 'purchases', { trigger: 'cli' });
    expect(reads.purchases).toBe(before + 1);
    expect(second).toMatchObject({ status: 'PARTIAL', merged: 1, failed: 1 });
    const after = await sqlRows<any>(db.orm, `select external_id, status, error->>'code' as code from source_record where stream = 'purchases' order by external_id`);
    expect(after).toEqual([{ external_id: 'P1', status: 'MERGED', code: null }, { external_id: 'P2', status: 'FAILED', code: 'UNRESOLVED_REFERENCE' }]);
    const [p] = await sqlRows<any>(db.orm, `select c.phone from purchase p join customer c on c.id = p.customer_id where p.order_number = 'SO-1'`);
    expect(p.phone).toBe(later);
    const [run] = await sqlRows<any>(db.orm, `select status, merged, failed from sync_run where id = ?`, [second.runId]);
    expect(run).toEqual({ status: 'PARTIAL', merged: 1, failed: 1 });
  });

  it('counts a record that fails in a run and is still unresolved once, not again in the retry', async () => {
    const never = '+8613800138444';
    queued.purchases.push({ externalId: 'P3', version: '1', payload: { order: 'SO-3', phone: never } });
    const run = await pipeline.runStream('crm', 'purchases', { trigger: 'cli' });
    // P3 fails as it arrives; P2 (from the run before) is retried and fails again: one each.
    expect(run).toMatchObject({ status: 'PARTIAL', merged: 0, failed: 2 });
    const rows = await sqlRows<any>(db.orm, `select external_id, status from source_record where stream = 'purchases' and status = 'FAILED' order by external_id`);
    expect(rows.map((r) => r.external_id)).toEqual(['P2', 'P3']);
  });

  it('retries only records that failed for a missing reference, not ones whose mapping failed', async () => {
    queued.purchases.push({ externalId: 'P4', version: '1', payload: { phone: '+8613800138555' } }); // no order number: INVALID
    const first = await pipeline.runStream('crm', 'purchases', { trigger: 'cli' });
    const [p4] = await sqlRows<any>(db.orm, `select status, error->>'code' as code from source_record where stream = 'purchases' and external_id = 'P4'`);
    expect(p4.status).toBe('FAILED');
    expect(p4.code).not.toBe('UNRESOLVED_REFERENCE');
    // The run: P4 as it arrived, P2 and P3 retried.
    expect(first).toMatchObject({ merged: 0, failed: 3 });
    const next = await pipeline.runStream('crm', 'purchases', { trigger: 'cli' });
    expect(next).toMatchObject({ merged: 0, failed: 2 }); // P2 and P3 again; P4 waits for its source or a remap
  });
});

describe('the retry look-up', () => {
  const db = useTestDatabase();

  it('finds a stream\'s unresolved records through the index of records that did not merge, not by walking the stream', async () => {
    const plan = await db.orm.em.fork().transactional(async (em) => {
      const conn = em.getConnection();
      const ctx = em.getTransactionContext();
      await conn.execute(`insert into source_record (connector, stream, external_id, payload, hash, status)
                          select 'erp', 'sales_orders', 'o' || g, '{}', 'h', 'MERGED' from generate_series(1, 20000) g`, [], 'run', ctx);
      await conn.execute(`insert into source_record (connector, stream, external_id, payload, hash, status, error, fetched_at)
                          select 'erp', 'sales_orders', 'f' || g, '{}', 'h', 'FAILED', '{"code":"UNRESOLVED_REFERENCE"}', now() - interval '1 day'
                            from generate_series(1, 5) g`, [], 'run', ctx);
      const [run] = await conn.execute(`insert into sync_run (connector, stream, mode, trigger) values ('erp', 'sales_orders', 'incremental', 'cli') returning id`, [], 'all', ctx);
      await conn.execute(`analyze source_record`, [], 'run', ctx);
      const sql = em.getKnex().raw(UNRESOLVED_RECORDS_SQL, ['erp', 'sales_orders', run.id, '0', 1000]).toQuery();
      expect((await conn.execute(sql, [], 'all', ctx)).map((r: any) => r.external_id)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
      return conn.execute<Array<{ 'QUERY PLAN': string }>>(`explain (costs off) ${sql}`, [], 'all', ctx);
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('source_record_unmerged_idx');
  });
});
