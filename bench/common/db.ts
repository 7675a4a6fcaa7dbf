import { Client } from 'pg';
import { migrate, openOrm } from '../../src/db/orm';

/** Shared by every benchmark: each owns one database, never the developer's or a test run's. */

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Admin connection (for CREATE/DROP DATABASE) and the benchmark database's URL. The base URL comes
 * from BENCH_DATABASE_URL or DATABASE_URL; its database serves as admin unless it is the benchmark's own.
 */
export function databaseUrls(benchDatabase: string): { adminUrl: string; benchUrl: string } {
  const base = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const baseDb = decodeURIComponent(new URL(base).pathname.replace(/^\//, ''));
  const adminUrl = !baseDb || baseDb === benchDatabase ? withDatabase(base, 'postgres') : base;
  return { adminUrl, benchUrl: withDatabase(base, benchDatabase) };
}

export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Applies pending migrations (all of them on a new database); returns their names. */
export async function migratePending(benchUrl: string): Promise<string[]> {
  const orm = await openOrm(benchUrl);
  try {
    return await migrate(orm);
  } finally {
    await orm.close(true);
  }
}

/** Drops and recreates the benchmark database, then applies the project's migrations to it. */
export async function recreateDatabase(adminUrl: string, benchUrl: string, benchDatabase: string): Promise<string[]> {
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${benchDatabase}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${benchDatabase}"`);
  });
  return migratePending(benchUrl);
}

/** A plain pg connection configured as the hub's are (src/db/orm.ts: JIT off), for hand-written SQL baselines. */
export async function connectLikeHub(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, options: '-c jit=off' });
  await client.connect();
  return client;
}

/** SQL written with knex's `?` placeholders (the merge's statements) for a plain pg client: `$1`, `$2`, … */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

