import { Client } from 'pg';
import { migrate, openOrm } from '../../src/db/orm';

/** The benchmark's own database; never the developer's or a test run's. */
export const BENCH_DATABASE = 'junction_bench_lookup';

/** Bump when the seed's shape changes, so `--reuse` does not keep data of an older shape. */
export const SEED_VERSION = 1;

export interface SeedMarker {
  customers: number;
  seed: number;
  version: number;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Admin connection and the benchmark database's URL. The base URL comes from BENCH_DATABASE_URL
 * or DATABASE_URL; its database is used for CREATE/DROP DATABASE unless it is the benchmark's own.
 */
export function databaseUrls(): { adminUrl: string; benchUrl: string } {
  const base = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const u = new URL(base);
  const baseDb = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const adminUrl = !baseDb || baseDb === BENCH_DATABASE ? withDatabase(base, 'postgres') : base;
  return { adminUrl, benchUrl: withDatabase(base, BENCH_DATABASE) };
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

/** The marker of a finished seed, or null when the database is missing or was not fully seeded. */
export async function readMarker(adminUrl: string, benchUrl: string): Promise<SeedMarker | null> {
  const exists = await withClient(adminUrl, async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DATABASE]);
    return rowCount === 1;
  });
  if (!exists) return null;
  return withClient(benchUrl, async (c) => {
    const { rows } = await c.query<{ t: string | null }>(`SELECT to_regclass('public.bench_seed_marker')::text AS t`);
    if (!rows[0]?.t) return null;
    const marker = await c.query<SeedMarker>('SELECT customers, seed, version FROM bench_seed_marker LIMIT 1');
    return marker.rows[0] ?? null;
  });
}

/** Applies migrations added since the database was seeded (a reused database keeps up with the code). */
export async function migratePending(benchUrl: string): Promise<string[]> {
  const orm = await openOrm(benchUrl);
  try {
    return await migrate(orm);
  } finally {
    await orm.close(true);
  }
}

/** Drops and recreates the benchmark database, then applies the project's migrations to it. */
export async function recreateDatabase(adminUrl: string, benchUrl: string): Promise<string[]> {
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${BENCH_DATABASE}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${BENCH_DATABASE}"`);
  });
  const orm = await openOrm(benchUrl);
  try {
    return await migrate(orm);
  } finally {
    await orm.close(true);
  }
}

export async function writeMarker(c: Client, marker: SeedMarker): Promise<void> {
  await c.query('CREATE TABLE bench_seed_marker (customers int NOT NULL, seed int NOT NULL, version int NOT NULL, seeded_at timestamptz NOT NULL DEFAULT now())');
  await c.query('INSERT INTO bench_seed_marker (customers, seed, version) VALUES ($1, $2, $3)', [marker.customers, marker.seed, marker.version]);
}
