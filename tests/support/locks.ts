import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../../src/db/sql';

/**
 * Resolves once some session waits for an advisory lock (pg_locks shows it not granted): proof that
 * a concurrent transaction is blocked, without guessing with timings. A test whose lock is missing
 * never gets here and fails on jest's timeout.
 */
export async function untilAdvisoryLockWaits(orm: MikroORM): Promise<void> {
  for (;;) {
    const [w] = await sqlRows<{ n: number }>(orm, `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`);
    if (w.n > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
