import { MikroORM } from '@mikro-orm/postgresql';
import { openOrm } from '../../src/db/orm';
import { cloneTemplate, dropDatabase } from '../support/databases';

describe('migrations', () => {
  let orm: MikroORM;
  let db: { name: string; url: string };

  beforeAll(async () => {
    db = await cloneTemplate();
    orm = await openOrm(db.url);
  });
  afterAll(async () => {
    await orm.close(true);
    await dropDatabase(db.name);
  });

  it('leave the database exactly as the entities describe it', async () => {
    const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });

  it('make the audit log append-only', async () => {
    const conn = orm.em.getConnection();
    await conn.execute(`insert into audit_log (entity_type, entity_id, field, actor, origin) values ('customer', 1, 'name', 't', 'test')`);
    await expect(conn.execute(`update audit_log set actor = 'x'`)).rejects.toThrow(/append-only/);
    await expect(conn.execute(`delete from audit_log`)).rejects.toThrow(/append-only/);
  });
});
