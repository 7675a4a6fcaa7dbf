import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

/** Ready = PostgreSQL answers a query and Redis answers PING, each within two seconds. */
export async function readiness(orm: MikroORM, redis: Redis) {
  const check = async (fn: () => Promise<unknown>) => {
    try {
      await withTimeout(fn(), 2000);
      return { ok: true } as { ok: boolean; error?: string };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  };
  const [database, redisCheck] = await Promise.all([
    check(() => orm.em.getConnection().execute('select 1')),
    check(() => redis.ping()),
  ]);
  return { ready: database.ok && redisCheck.ok, checks: { database, redis: redisCheck } };
}
