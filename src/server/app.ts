import 'reflect-metadata';
import http from 'http';
import type { AddressInfo } from 'net';
import express from 'express';
import { expressMiddleware } from '@as-integrations/express5';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Redis } from 'ioredis';
import { ApiKeyVerifier } from '../auth/api-keys';
import { JunctionConfig, loadConfig } from '../config';
import { openOrm } from '../db/orm';
import type { GraphContext } from '../graph/context';
import { createLoaders } from '../graph/loaders';
import { logger } from '../logging/logger';
import { MappingEngine } from '../mapping/engine';
import { SandboxedEvaluator } from '../mapping/sandboxed';
import { MappingStore } from '../mapping/store';
import { toCanonical } from '../sync/canonical';
import { SyncRequests } from '../sync/requests';
import { TicketService } from '../tickets/ticket-service';
import { TicketEnricher } from '../enrichment/enricher';
import { createExcelRouter } from '../excel/http';
import { createWebhookRouter } from '../webhooks/router';
import { WebhookService } from '../webhooks/service';
import { WritebackAdmin } from '../writeback/admin';
import { BOARD_PATH, createBoardRouter } from '../writeback/board';
import { createApollo, unauthenticated } from './apollo';
import { readiness } from './health';

export interface RunningServer {
  /** GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql */
  url: string;
  port: number;
  orm: MikroORM;
  redis: Redis;
  /** Saved mapping versions over the files, and the engine they are applied to. */
  mappings: MappingStore;
  close(): Promise<void>;
}

export interface StartOptions {
  databaseUrl?: string;
  redisUrl?: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  config?: Partial<JunctionConfig>;
  /** Mapping admin: where the default files live, and the sandbox's wall-clock budget per preview/fixture batch. */
  mappings?: { root?: string; budgetMs?: number };
}

/** `junction serve`: GraphQL at /graphql, /healthz and /readyz without a key. Stateless: scale out behind a load balancer. */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const config = loadConfig({
    ...opts.config,
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
  });
  const orm = await openOrm(config.databaseUrl);
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', (e) => logger.warn('redis connection problem', { message: e.message }));
  redis.connect().catch(() => undefined); // readiness reports it; the gateway itself does not need Redis yet

  const verifier = new ApiKeyVerifier(orm, config.apiKeyCacheSeconds);
  // Files are the defaults; saved versions override them from the start (and are re-checked before each use).
  const mappings = new MappingStore(orm, new MappingEngine({ root: opts.mappings?.root }), {
    sandbox: new SandboxedEvaluator({ budgetMs: opts.mappings?.budgetMs }),
    validateOutput: (output) => { toCanonical(output); }, // a preview flags what sync would refuse
  });
  await mappings.loadActive();
  // Enrichment uses the same engine, so an admin's saved ticket/enrich version applies; thresholds are checked here.
  const tickets = new TicketService(orm, undefined, new TicketEnricher(mappings.engine));
  // runSync queues jobs: Redis and the connector config are opened on the first request.
  const sync = new SyncRequests({ redisUrl: config.redisUrl, prefix: config.queuePrefix, configPath: config.connectorsConfig });
  // Write-back retry/discard and the queue dashboard: the write-back queue is opened on first use.
  const writeback = new WritebackAdmin(orm, { redisUrl: config.redisUrl, prefix: config.queuePrefix });
  const apollo = createApollo(config);
  await apollo.start();

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', async (_req, res) => {
    const r = await readiness(orm, redis);
    res.status(r.ready ? 200 : 503).json(r);
  });
  // Excel import/export for batch and admin keys (jobs run in this process; see src/excel/jobs.ts).
  const excel = createExcelRouter({ orm, verifier, engine: mappings.engine, tickets });
  app.use('/excel', excel.router);
  // Pushes from the sources (no API key: each sender proves itself per connector, src/webhooks).
  app.use('/webhooks', createWebhookRouter(new WebhookService(orm, mappings, { configPath: config.connectorsConfig })));
  app.use(BOARD_PATH, createBoardRouter(verifier, () => [writeback.queue, sync.queue]));
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }): Promise<GraphContext> => {
        const header = req.headers.authorization;
        const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
        if (!m) throw unauthenticated('Send an API key as "Authorization: Bearer <key>"');
        const auth = await verifier.verify(m[1]);
        if (!auth) throw unauthenticated('The API key is not valid or was revoked');
        return { orm, auth, loaders: createLoaders(orm), tickets, sync, mappings, writeback };
      },
    }),
  );

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    orm,
    redis,
    mappings,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await apollo.stop();
      await excel.close();
      await sync.close();
      await writeback.close();
      redis.disconnect();
      await orm.close(true);
    },
  };
}
