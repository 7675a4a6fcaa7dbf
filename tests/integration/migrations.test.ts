import { useTestDatabase } from '../support/databases';
import { DEVICE_RECORD_BY_NAME_SQL } from '../../src/webhooks/service';

describe('migrations', () => {
  const db = useTestDatabase();

  it('leave the database exactly as the entities describe it', async () => {
    const diff = await db.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });

  it('index source records by status only when they did not merge, usable for a stream\'s failed records', async () => {
    const plan = await db.orm.em.fork().transactional(async (em) => {
      const conn = em.getConnection();
      const ctx = em.getTransactionContext();
      await conn.execute(`insert into source_record (connector, stream, external_id, payload, hash, status)
                          values ('c', 's', '1', '{}', 'h', 'MERGED'), ('c', 's', '2', '{}', 'h', 'FAILED')`, [], 'run', ctx);
      await conn.execute(`set local enable_seqscan = off`, [], 'run', ctx);
      return conn.execute<Array<{ 'QUERY PLAN': string }>>(
        `explain (costs off) select id from source_record where connector = 'c' and stream = 's' and status = 'FAILED'`, [], 'all', ctx);
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('source_record_unmerged_idx');
    const [idx] = await db.orm.em.getConnection().execute(`select pg_get_indexdef('source_record_unmerged_idx'::regclass) as def`);
    expect(idx.def).toContain(`WHERE (status <> 'MERGED'::text)`);
  });

  it('index pulled device records by name, and the webhook\'s look-up by name uses it, not a walk of every payload', async () => {
    const plan = await db.orm.em.fork().transactional(async (em) => {
      const conn = em.getConnection();
      const ctx = em.getTransactionContext();
      await conn.execute(`insert into source_record (connector, stream, external_id, payload, hash, status)
                          select 'iot', 'devices', 'd' || g, json_build_object('device', json_build_object('name', 'SN' || g)), 'h', 'MERGED'
                            from generate_series(1, 20000) g`, [], 'run', ctx);
      await conn.execute(`analyze source_record`, [], 'run', ctx);
      const knex = em.getKnex();
      const sql = knex.raw(DEVICE_RECORD_BY_NAME_SQL, ['iot', 'SN19999']).toQuery();
      const found = await conn.execute(sql, [], 'all', ctx);
      expect(found).toEqual([{ external_id: 'd19999' }]);
      return conn.execute<Array<{ 'QUERY PLAN': string }>>(`explain (costs off) ${sql}`, [], 'all', ctx);
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('source_record_device_name_idx');
  });

  it('make the audit log append-only', async () => {
    const conn = db.orm.em.getConnection();
    await conn.execute(`insert into audit_log (entity_type, entity_id, field, actor, origin) values ('customer', 1, 'name', 't', 'test')`);
    await expect(conn.execute(`update audit_log set actor = 'x'`)).rejects.toThrow(/append-only/);
    await expect(conn.execute(`delete from audit_log`)).rejects.toThrow(/append-only/);
  });
});
