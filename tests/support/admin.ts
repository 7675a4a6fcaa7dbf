import { Client } from 'pg';

/**
 * Admin side of test databases (no ORM imports: jest global setup loads this file).
 * Each test run owns its databases: a template migrated once (global setup) and a clone per
 * test file. All names carry the run id so parallel runs never collide; teardown drops them.
 */
export const ADMIN_URL = process.env.JUNCTION_TEST_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export function runId(): string {
  const id = process.env.JUNCTION_TEST_RUN;
  if (!id) throw new Error('JUNCTION_TEST_RUN is not set: run tests through jest (global setup sets it)');
  return id;
}

export function templateName(run = runId()): string {
  return `junction_t_${run}_tpl`;
}

export function urlFor(database: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops every database this run made (template and clones). */
export async function dropRunDatabases(run = runId()): Promise<void> {
  await withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`junction_t_${run}_%`],
    );
    for (const r of rows) await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  });
}
