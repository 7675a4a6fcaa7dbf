import type { Client } from 'pg';
import { databaseUrls as sharedUrls, migratePending, recreateDatabase as recreateShared, withClient } from '../common/db';

export { migratePending, withClient };

/** The benchmark's own database; never the developer's or a test run's. */
export const BENCH_DATABASE = 'junction_bench_lookup';

/** Bump when the seed's shape changes, so `--reuse` does not keep data of an older shape. */
export const SEED_VERSION = 1;

export interface SeedMarker {
  customers: number;
  seed: number;
  version: number;
}

/** Admin connection and the benchmark database's URL. */
export function databaseUrls(): { adminUrl: string; benchUrl: string } {
  return sharedUrls(BENCH_DATABASE);
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

/** Drops and recreates the benchmark database, then applies the project's migrations to it. */
export async function recreateDatabase(adminUrl: string, benchUrl: string): Promise<string[]> {
  return recreateShared(adminUrl, benchUrl, BENCH_DATABASE);
}

export async function writeMarker(c: Client, marker: SeedMarker): Promise<void> {
  await c.query('CREATE TABLE bench_seed_marker (customers int NOT NULL, seed int NOT NULL, version int NOT NULL, seeded_at timestamptz NOT NULL DEFAULT now())');
  await c.query('INSERT INTO bench_seed_marker (customers, seed, version) VALUES ($1, $2, $3)', [marker.customers, marker.seed, marker.version]);
}
