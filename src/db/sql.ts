import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';

/**
 * Raw SQL through MikroORM's own connection pool (knex-style `?` placeholders; an array bound
 * to `in (?)` expands to a list). Reads and set-based writes use this; inside a transaction pass
 * the transaction's EntityManager so the statement joins it.
 */
export async function sqlRows<T = Record<string, unknown>>(
  db: MikroORM | EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const em = 'em' in db ? db.em : db;
  return em.getConnection().execute<T[]>(sql, params as any[], 'all', em.getTransactionContext());
}

export async function sqlOne<T = Record<string, unknown>>(
  db: MikroORM | EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T | null> {
  const rows = await sqlRows<T>(db, sql, params);
  return rows[0] ?? null;
}

export type Exec = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/**
 * Statements inside the EntityManager's transaction with real server-side parameters ($1…):
 * for set-based writes whose JSON payloads must not be spliced into the SQL text.
 */
export function bulkExecutor(em: EntityManager): Exec {
  const knex = em.getKnex();
  const trx = em.getTransactionContext();
  if (!trx) throw new Error('bulk statements must run inside a transaction');
  return async <T>(sql: string, params: unknown[] = []) => {
    const res = await knex.raw(sql, params as any[]).transacting(trx);
    return (res as { rows: T[] }).rows;
  };
}

/**
 * Transaction-scoped advisory locks on many keys of one namespace (held until commit), taken in
 * key order so two transactions locking overlapping sets never deadlock.
 */
export async function lockKeys(exec: Exec, namespace: number, keys: string[]): Promise<void> {
  if (!keys.length) return;
  await exec(`select pg_advisory_xact_lock(?::int, hashtext(k)) from (select distinct jsonb_array_elements_text(?::jsonb) as k order by 1) t`,
    [namespace, JSON.stringify(keys)]);
}
