import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Connector, SourcePage, SourceRecord } from '../../src/connectors';
import { sqlRows } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { ConnectorInstance, SyncPipeline } from '../../src/sync/pipeline';
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
    writeFileSync(join(root, 'teststored', 'purchases.jsonata'), '{ "entity": "purchase", "orderNumber": order, "customer": { "phone": phone } }');
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
});
