/**
 * A write-back worker (relay + worker) in its own process, for the fault suite to SIGKILL.
 * Env: DATABASE_URL, REDIS_URL, WB_PREFIX, WB_CONFIG (connector config YAML text), WB_LOCK_MS.
 * Prints "ready" once it takes jobs.
 */
import { parseConnectorsConfig } from '../../src/connectors';
import { openOrm } from '../../src/db/orm';
import { MappingEngine } from '../../src/mapping/engine';
import { loadSyncSetup } from '../../src/sync/instances';
import { redisConnection } from '../../src/sync/queue';
import { startWritebackRuntime } from '../../src/writeback/runtime';

async function main() {
  const orm = await openOrm(process.env.DATABASE_URL!);
  const instances = loadSyncSetup(undefined, { config: parseConnectorsConfig(process.env.WB_CONFIG!), logger: () => undefined }).instances;
  const connection = redisConnection(process.env.REDIS_URL!);
  const lock = Number(process.env.WB_LOCK_MS || 2000);
  await startWritebackRuntime({
    orm, engine: new MappingEngine(), instances, connection, prefix: process.env.WB_PREFIX, concurrency: 8,
    jobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 100, jitter: 0.5 } },
    relayOptions: { pollMs: 200, sweepAfterMs: 5000, sweepEveryMs: 2000 },
    workerOptions: { lockDuration: lock, stalledInterval: lock, orderDelayMs: 50, misconfiguredDelayMs: 500 },
  });
  process.stdout.write('ready\n');
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
