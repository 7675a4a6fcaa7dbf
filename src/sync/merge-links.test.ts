import { sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import type { CanonicalRecord } from './canonical';
import { MergeSource, Merger } from './merge';

const ERP: MergeSource = { connector: 'erp', system: 'erp', stream: 'serials' };
const IOT: MergeSource = { connector: 'iot', system: 'iot', stream: 'devices' };

/** The source links telemetry leaves on devices (IoT write-backs find the device's IoT id through them). */
describe('device links of telemetry', () => {
  const db = useTestDatabase();

  const merge = (source: MergeSource, records: Array<[string, CanonicalRecord]>) => db.orm.em.fork().transactional(async (em) => {
    const errors = await new Merger(em, source).merge(records.map(([externalId, record], index) => ({ index, externalId, version: '1', at: new Date().toISOString(), record })));
    expect(errors.size).toBe(0);
  });
  const links = () => sqlRows<any>(db.orm,
    `select l.system, l.stream, l.external_id, d.serial from source_link l join device d on d.id = l.entity_id
      where l.entity_type = 'device' order by l.system, d.serial`);
  const telemetry = (serial: string): CanonicalRecord => ({ entity: 'telemetry', fields: { serial, online: true, runCount: '3' } });

  it('links a device that already exists (from the ERP) to the IoT record, as it links a device it creates', async () => {
    await merge(ERP, [['E-1', { entity: 'device', fields: { serial: 'LNK-ERP-1', model: 'KFR-72LW' } }]]);
    await merge(IOT, [
      ['tb-uuid-1', telemetry('LNK-ERP-1')],
      ['tb-uuid-1', telemetry('LNK-ERP-1')],
      ['tb-uuid-2', telemetry('LNK-NEW-2')],
    ]);
    expect(await links()).toEqual([
      { system: 'erp', stream: 'serials', external_id: 'E-1', serial: 'LNK-ERP-1' },
      { system: 'iot', stream: 'devices', external_id: 'tb-uuid-1', serial: 'LNK-ERP-1' },
      { system: 'iot', stream: 'devices', external_id: 'tb-uuid-2', serial: 'LNK-NEW-2' },
    ]);
  });
});
