import { sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import { MergeItem, Merger } from './merge';

/** The merge's near-duplicate check, where serials repeat characters (one lookup per run of them). */
describe('near-duplicate serials in the merge', () => {
  const db = useTestDatabase();
  let n = 0;


  const merge = (serials: string[]) => db.orm.em.fork().transactional(async (em) => {
    const items: MergeItem[] = serials.map((serial, index) => ({
      index, externalId: `dup-${n++}`, version: null, at: new Date().toISOString(), record: { entity: 'device', fields: { serial, model: 'LK-S9' } },
    }));
    expect((await new Merger(em, { connector: 'erp', system: 'erp', stream: 'serials' }).merge(items)).size).toBe(0);
  });
  const pairs = async () => (await sqlRows<{ evidence: any }>(db.orm,
    `select evidence from data_issue where kind = 'POSSIBLE_DUPLICATE' order by id`)).map((r) => `${r.evidence.newSerial}~${r.evidence.existingSerial}`);

  it('flags a character more or less inside a run of equal ones, in either order of arrival', async () => {
    await merge(['DUPRUN0001', 'DUPRUNAA77', 'DUPSEQ0001', 'DUPSOLO12']);
    expect(await pairs()).toEqual([]);
    await merge(['DUPRUN00001', 'DUPRUNA77', 'DUPSEQ0002', 'DUPSOLOX12']);
    expect(await pairs()).toEqual(['DUPRUN00001~DUPRUN0001', 'DUPRUNA77~DUPRUNAA77', 'DUPSOLOX12~DUPSOLO12']);
    // One more again: a near pair with the newest one only (two characters from the first).
    await merge(['DUPRUN000001']);
    expect(await pairs()).toEqual(['DUPRUN00001~DUPRUN0001', 'DUPRUNA77~DUPRUNAA77', 'DUPSOLOX12~DUPSOLO12', 'DUPRUN000001~DUPRUN00001']);
  });
});
