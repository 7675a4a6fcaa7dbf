import { sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import type { CanonicalRecord } from './canonical';
import { CREATED_FIELD, Merger } from './merge';

/** Spare parts are audited like every golden record: creation, rename, compatibility replaced. */
describe('audit of spare parts', () => {
  const db = useTestDatabase();

  const merge = (records: CanonicalRecord[]) => db.orm.em.fork().transactional(async (em) => {
    const errors = await new Merger(em, { connector: 'erp', system: 'erp', stream: 'materials' })
      .merge(records.map((record, index) => ({ index, externalId: `M-${record.fields.code}`, version: null, at: new Date().toISOString(), record })));
    expect(errors.size).toBe(0);
  });
  const part = (code: string, name: string, compatibility?: Array<{ model: string; firmwarePrefix: string }>): CanonicalRecord =>
    ({ entity: 'spare_part', fields: compatibility ? { code, name, compatibility } : { code, name } });
  const audit = () => sqlRows<any>(db.orm,
    `select p.code, a.field, a.before, a.after, a.actor, a.origin from audit_log a join spare_part p on p.id = a.entity_id
      where a.entity_type = 'spare_part' order by a.id`);

  it('audits a creation, a rename with before and after, and a replaced compatibility list; nothing when unchanged', async () => {
    await merge([part('AUD-P1', '压缩机', [{ model: 'KFR-72LW', firmwarePrefix: 'V2' }]), part('AUD-P2', '风扇')]);
    expect(await audit()).toEqual([
      { code: 'AUD-P1', field: CREATED_FIELD, before: null, after: { code: 'AUD-P1', name: '压缩机', compatibility: [{ model: 'KFR-72LW', firmwarePrefix: 'V2' }] }, actor: 'sync:erp', origin: 'sync:erp/materials:M-AUD-P1' },
      { code: 'AUD-P2', field: CREATED_FIELD, before: null, after: { code: 'AUD-P2', name: '风扇' }, actor: 'sync:erp', origin: 'sync:erp/materials:M-AUD-P2' },
    ]);

    await merge([part('AUD-P1', '压缩机 2P', [{ model: 'KFR-72LW', firmwarePrefix: 'V2' }]), part('AUD-P2', '风扇')]);
    expect((await audit()).slice(2)).toEqual([
      { code: 'AUD-P1', field: 'name', before: '压缩机', after: '压缩机 2P', actor: 'sync:erp', origin: 'sync:erp/materials:M-AUD-P1' },
    ]);

    await merge([part('AUD-P1', '压缩机 2P', [{ model: 'KFR-72LW', firmwarePrefix: 'V2' }, { model: 'KFR-35GW', firmwarePrefix: '' }])]);
    expect((await audit()).slice(3)).toEqual([{
      code: 'AUD-P1', field: 'compatibility', actor: 'sync:erp', origin: 'sync:erp/materials:M-AUD-P1',
      before: [{ model: 'KFR-72LW', firmwarePrefix: 'V2' }],
      after: [{ model: 'KFR-35GW', firmwarePrefix: '' }, { model: 'KFR-72LW', firmwarePrefix: 'V2' }],
    }]);
    await merge([part('AUD-P1', '压缩机 2P', [{ model: 'KFR-35GW', firmwarePrefix: '' }])]);
    expect((await audit()).slice(4).map((a) => [a.field, a.after])).toEqual([['compatibility', [{ model: 'KFR-35GW', firmwarePrefix: '' }]]]);
    expect(await sqlRows<any>(db.orm, `select c.model, c.firmware_prefix from part_compatibility c join spare_part p on p.id = c.part_id where p.code = 'AUD-P1'`))
      .toEqual([{ model: 'KFR-35GW', firmware_prefix: '' }]);
    await merge([part('AUD-P1', '压缩机 2P', [{ model: 'KFR-35GW', firmwarePrefix: '' }])]);
    expect(await audit()).toHaveLength(5);
  });
});
