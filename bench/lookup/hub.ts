import type { MikroORM } from '@mikro-orm/postgresql';
import { startServer } from '../../src/server/app';
import { createApiKey } from '../../src/auth/api-keys';

export interface Hub {
  url: string;
  orm: MikroORM;
  apiKey: string;
  close(): Promise<void>;
}

/** The real gateway, in this process, on a random port, with a portal key of its own. */
export async function startHub(databaseUrl: string): Promise<Hub> {
  const server = await startServer({ databaseUrl, redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379', port: 0 });
  const orm = server.orm;
  const { key } = await createApiKey(orm, { name: `bench-lookup-${process.pid}`, role: 'portal' });
  return { url: server.url, orm, apiKey: key, close: () => server.close() };
}
