import { createApiKey } from '../../src/auth/api-keys';
import { Role } from '../../src/auth/roles';
import { startServer, RunningServer } from '../../src/server/app';
import { cloneTemplate, dropDatabase } from './databases';

export interface GqlResponse<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

export interface TestHub {
  server: RunningServer;
  keys: Record<'portal' | 'admin' | 'batch', string>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<GqlResponse<T>>;
  stop(): Promise<void>;
}

/** A real gateway on a random port over this test file's own database, with one key per role. */
export async function startTestHub(config: Parameters<typeof startServer>[0] extends infer O ? (O extends { config?: infer C } ? C : never) : never = {}): Promise<TestHub> {
  const db = await cloneTemplate();
  const server = await startServer({ databaseUrl: db.url, port: 0, host: '127.0.0.1', config });
  const keys = {
    portal: (await createApiKey(server.orm, { name: 'test-portal', role: Role.PORTAL })).key,
    admin: (await createApiKey(server.orm, { name: 'test-admin', role: Role.ADMIN })).key,
    batch: (await createApiKey(server.orm, { name: 'test-batch', role: Role.BATCH })).key,
  };
  return {
    server,
    keys,
    async gql(query, variables = {}, key = keys.portal) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key !== null) headers.authorization = `Bearer ${key}`;
      const res = await fetch(server.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as any;
      return { status: res.status, data: body.data, errors: body.errors };
    },
    async stop() {
      await server.close();
      await dropDatabase(db.name);
    },
  };
}
