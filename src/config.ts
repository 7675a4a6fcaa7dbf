/** Runtime settings from the environment; defaults fit a developer machine with local PostgreSQL and Redis. */
export interface JunctionConfig {
  databaseUrl: string;
  redisUrl: string;
  port: number;
  production: boolean;
  /** Largest query depth and estimated cost the gateway accepts. */
  maxQueryDepth: number;
  maxQueryCost: number;
  /** Seconds a verified API key stays cached in a gateway process (revocation delay). */
  apiKeyCacheSeconds: number;
  /** BullMQ key prefix of the hub's queues (JUNCTION_QUEUE_PREFIX, default `bull`). */
  queuePrefix: string;
  /** Connector config file; unset = $JUNCTION_CONFIG, else ./junction.config.yaml. */
  connectorsConfig?: string;
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

export function loadConfig(overrides: Partial<JunctionConfig> = {}): JunctionConfig {
  return {
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/junction',
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    port: intFromEnv('PORT', 4000),
    production: process.env.NODE_ENV === 'production',
    maxQueryDepth: intFromEnv('JUNCTION_MAX_QUERY_DEPTH', 12),
    maxQueryCost: intFromEnv('JUNCTION_MAX_QUERY_COST', 20000),
    apiKeyCacheSeconds: intFromEnv('JUNCTION_API_KEY_CACHE_SECONDS', 30),
    queuePrefix: process.env.JUNCTION_QUEUE_PREFIX || 'bull',
    ...overrides,
  };
}
