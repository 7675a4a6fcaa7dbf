import { sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import { CREATED_FIELD, MergeItem, Merger } from './merge';

/** What the merge decides from stored values: timestamps read back from the database, lineage, creation audit. */
describe('merge of stored values', () => {
  const db = useTestDatabase();

  const merge = (items: Array<Omit<MergeItem, 'index' | 'version'>>) => db.orm.em.fork().transactional(async (em) => {
    const merger = new Merger(em, { connector: 'iot', system: 'iot', stream: 'devices' });
    expect((await merger.merge(items.map((i, index) => ({ ...i, index, version: null })))).size).toBe(0);
  });
  const audit = (serial: string) => sqlRows<any>(db.orm,
    `select a.field, a.before, a.after from audit_log a join device d on d.id = a.entity_id
      where d.serial = ? and a.entity_type in ('device', 'telemetry') order by a.id`, [serial]);

  it('compares a stored timestamp with the incoming one as the same instant, and audits only real changes', async () => {
    const telemetry = (lastSeenAt: string, runCount: string) => ({ entity: 'telemetry' as const, fields: { serial: 'MV-TS-1', lastSeenAt, runCount, online: true } });
    // Two records for one new device in one page: the device is created once, audited against the first.
    await merge([
      { externalId: 'mv-1', at: '2026-12-01T00:00:00.000Z', record: telemetry('2026-12-01T08:00:00.000Z', '5') },
      { externalId: 'mv-1b', at: '2026-12-01T00:00:01.000Z', record: telemetry('2026-12-01T08:00:00.000Z', '5') },
    ]);
    expect((await audit('MV-TS-1')).map((a) => a.field)).toEqual([CREATED_FIELD, CREATED_FIELD]);
    const [link] = await sqlRows<any>(db.orm, `select external_id from source_link where entity_type = 'device' and stream = 'devices' and entity_id = (select id from device where serial = 'MV-TS-1')`);
    expect(link.external_id).toBe('mv-1');

    await merge([{ externalId: 'mv-1', at: '2026-12-02T00:00:00.000Z', record: telemetry('2026-12-01T08:00:00.000Z', '5') }]);
    expect(await audit('MV-TS-1')).toHaveLength(2); // same instant, same count: nothing changed

    await merge([{ externalId: 'mv-1', at: '2026-12-03T00:00:00.000Z', record: telemetry('2026-12-03T09:30:00.000Z', '6') }]);
    const changes = (await audit('MV-TS-1')).slice(2);
    expect(changes).toEqual(expect.arrayContaining([
      { field: 'lastSeenAt', before: '2026-12-01T08:00:00.000Z', after: '2026-12-03T09:30:00.000Z' },
      { field: 'runCount', before: '5', after: '6' },
    ]));
    expect(changes).toHaveLength(2);
    const [row] = await sqlRows<any>(db.orm, `select junction_lineage(t.lineage) as lineage, t.last_seen_at from telemetry t join device d on d.id = t.device_id where d.serial = 'MV-TS-1'`);
    expect(new Date(row.last_seen_at).toISOString()).toBe('2026-12-03T09:30:00.000Z');
    expect(row.lineage.lastSeenAt).toEqual({ system: 'iot', connector: 'iot', stream: 'devices', externalId: 'mv-1', at: '2026-12-03T00:00:00.000Z' });
    expect(row.lineage.online).toEqual({ system: 'iot', connector: 'iot', stream: 'devices', externalId: 'mv-1', at: '2026-12-01T00:00:00.000Z' });
    // Stored compact: the two sources once each, every field an index into them.
    const [stored] = await sqlRows<any>(db.orm, `select t.lineage from telemetry t join device d on d.id = t.device_id where d.serial = 'MV-TS-1'`);
    expect(stored.lineage['~']).toHaveLength(2);
    expect(Object.keys(stored.lineage).sort()).toEqual(['~', ...Object.keys(row.lineage)].sort());
    for (const field of Object.keys(row.lineage)) expect(typeof stored.lineage[field]).toBe('number');
  });

  it('keeps the sources of a row stored in the full form (before compact lineage) when it merges into it', async () => {
    const old = { system: 'erp', connector: 'erp', stream: 'serials', externalId: 'E-1', at: '2026-01-01T00:00:00.000Z' };
    await sqlRows(db.orm, `insert into device (serial, model, firmware, lineage) values ('MV-FULL-1', 'KFR-1', 'V1', ?::jsonb)`,
      [JSON.stringify({ serial: old, model: old, firmware: old })]);
    await merge([{ externalId: 'tb-9', at: '2026-12-04T00:00:00.000Z', record: { entity: 'device', fields: { serial: 'MV-FULL-1', firmware: 'V2' } } }]);
    const [d] = await sqlRows<any>(db.orm, `select firmware, lineage, junction_lineage(lineage) as full from device where serial = 'MV-FULL-1'`);
    expect(d.firmware).toBe('V2');
    expect(d.full).toEqual({ serial: old, model: old, firmware: { system: 'iot', connector: 'iot', stream: 'devices', externalId: 'tb-9', at: '2026-12-04T00:00:00.000Z' } });
    expect(d.lineage['~']).toHaveLength(2); // the old source once for serial and model, the new one for firmware
  });
});
