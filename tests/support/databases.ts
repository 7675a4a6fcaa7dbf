import type { MikroORM } from '@mikro-orm/postgresql';
import { openOrm, migrate } from '../../src/db/orm';
import { runId, templateName, urlFor, withAdmin } from './admin';

export { dropRunDatabases } from './admin';

let counter = 0;
const TEMPLATE_LOCK = 727001;

/**
 * A fresh, migrated database cloned from the run's template. The first caller migrates the
 * template (under an advisory lock) inside the test worker: MikroORM's metadata must be loaded
 * in the same module realm that uses it, which rules out doing it in jest's global setup.
 */
export async function cloneTemplate(): Promise<{ name: string; url: string }> {
  const name = `junction_t_${runId()}_${process.pid}_${++counter}`;
  const template = templateName();
  await withAdmin(async (c) => {
    await c.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const { rows } = await c.query(`SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname = $1`, [template]);
      if (rows[0]?.note !== 'migrated') {
        const orm = await openOrm(urlFor(template));
        try {
          await migrate(orm);
        } finally {
          await orm.close(true);
        }
        await c.query(`COMMENT ON DATABASE "${template}" IS 'migrated'`);
      }
      await c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
  return { name, url: urlFor(name) };
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly orm: MikroORM;
}

/**
 * A database of the calling file's (or describe block's) own, cloned from the run's template, with
 * an ORM open on it: created before its tests, closed and dropped after them. Read the fields
 * inside tests and hooks (they are set in beforeAll).
 */
export function useTestDatabase(): TestDatabase {
  const t = {} as { name: string; url: string; orm: MikroORM };
  beforeAll(async () => {
    Object.assign(t, await cloneTemplate());
    t.orm = await openOrm(t.url);
  });
  afterAll(async () => {
    await t.orm?.close(true);
    if (t.name) await dropDatabase(t.name);
  });
  return t;
}
