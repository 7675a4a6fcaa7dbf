import { sqlRows } from '../db/sql';
import { textArray } from '../graph/loaders';
import { useTestDatabase } from '../../tests/support/databases';
import { suggestSerials } from './suggest';

/** Every distinct one-character deletion of `s`, computed the obvious way. */
const deletions = (s: string) => [...new Set([...s].map((_, i) => s.slice(0, i) + s.slice(i + 1)))].sort();

/** The triggers keep device_serial_variant equal to the deletions of every device's current serial. */
describe('serial variants kept by triggers', () => {
  const db = useTestDatabase();

  const variantsOf = async (id: string) =>
    (await sqlRows<{ variant: string }>(db.orm, `select variant from device_serial_variant where device_id = ? order by variant`, [id])).map((r) => r.variant);

  it('stores each distinct deletion once, runs of equal characters included', async () => {
    const serials = ['VARAAAB001', 'VARXYZ7', 'VAR00000000'];
    const rows = await sqlRows<{ id: string; serial: string }>(db.orm,
      `insert into device (serial) select unnest(?::text[]) returning id, serial`, [textArray(serials)]);
    for (const r of rows) expect(await variantsOf(String(r.id))).toEqual(deletions(r.serial));
  });

  it('replaces the old serial\'s variants by the new one\'s when a serial changes, and only then', async () => {
    const [a] = await sqlRows<{ id: string }>(db.orm, `insert into device (serial) values ('VARMOVE1100') returning id`);
    const [b] = await sqlRows<{ id: string }>(db.orm, `insert into device (serial) values ('VARSTAY22') returning id`);
    // One statement changing one serial and touching another without changing it.
    await sqlRows(db.orm, `update device set serial = case id when ? then 'VARMOVED9' else serial end, firmware = 'V2' where id in (?, ?)`, [a.id, a.id, b.id]);
    expect(await variantsOf(String(a.id))).toEqual(deletions('VARMOVED9'));
    expect(await variantsOf(String(b.id))).toEqual(deletions('VARSTAY22'));
    // Suggestions follow: the old serial is gone, the new one is found from a typo.
    expect(await suggestSerials(db.orm, 'VARMOVE110')).toEqual([]);
    expect((await suggestSerials(db.orm, 'VARMOVED')).map((s) => s.serial)).toEqual(['VARMOVED9']);
    expect((await suggestSerials(db.orm, 'VARMOVED99')).map((s) => s.serial)).toEqual(['VARMOVED9']);
  });

  it('removes a device\'s variants when it is deleted, so its id can come back without a clash', async () => {
    const [gone] = await sqlRows<{ id: string }>(db.orm, `insert into device (serial) values ('VARGONE0011') returning id`);
    const [kept] = await sqlRows<{ id: string }>(db.orm, `insert into device (serial) values ('VARKEPT0011') returning id`);
    await sqlRows(db.orm, `delete from device where id = ?`, [gone.id]);
    expect(await variantsOf(String(gone.id))).toEqual([]);
    expect(await variantsOf(String(kept.id))).toEqual(deletions('VARKEPT0011'));
    // The inserts are plain (no ON CONFLICT): a leftover variant would make this fail.
    await sqlRows(db.orm, `insert into device (id, serial) values (?, 'VARGONE0011')`, [gone.id]);
    expect(await variantsOf(String(gone.id))).toEqual(deletions('VARGONE0011'));
    expect(await suggestSerials(db.orm, 'VARGONE001')).toHaveLength(1);
  });

  it('empties the variants when device is truncated', async () => {
    await sqlRows(db.orm, `insert into device (serial) values ('VARTRUNC1')`);
    await sqlRows(db.orm, `truncate device restart identity cascade`);
    expect(await sqlRows(db.orm, `select 1 from device_serial_variant`)).toEqual([]);
    const [again] = await sqlRows<{ id: string }>(db.orm, `insert into device (serial) values ('VARTRUNC1') returning id`);
    expect(String(again.id)).toBe('1');
    expect(await variantsOf('1')).toEqual(deletions('VARTRUNC1'));
  });
});
