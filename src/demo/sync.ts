import { writeFileSync } from 'fs';
import type { MikroORM } from '@mikro-orm/postgresql';
import { parseConnectorsConfig } from '../connectors/config';
import { MappingEngine } from '../mapping/engine';
import { closeInstances, loadSyncSetup } from '../sync/instances';
import { SyncPipeline, SyncRunResult } from '../sync/pipeline';
import { DEMO_SYNC_ORDER, DemoSandboxes } from './sandboxes';

/**
 * The demo's first pull: every stream of the three sandboxes, customers first. Also writes the
 * generated connector config to `configPath` (when given) so `junction sync` and `junction worker`
 * in another terminal talk to the same sandboxes.
 */
export async function syncDemoSandboxes(orm: MikroORM, sandboxes: DemoSandboxes, configPath?: string): Promise<SyncRunResult[]> {
  if (configPath) writeFileSync(configPath, sandboxes.configYaml);
  const setup = loadSyncSetup(undefined, { config: parseConnectorsConfig(sandboxes.configYaml, configPath ?? 'demo') });
  const pipeline = new SyncPipeline(orm, new MappingEngine(), setup.instances);
  const results: SyncRunResult[] = [];
  try {
    for (const [connector, stream] of DEMO_SYNC_ORDER) results.push(await pipeline.runStream(connector, stream, { trigger: 'demo' }));
  } finally {
    await closeInstances(setup.instances);
  }
  return results;
}
