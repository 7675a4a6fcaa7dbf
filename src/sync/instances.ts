/**
 * The configured connector instances (junction.config.yaml, or the file in $JUNCTION_CONFIG) as
 * the sync pipeline, the worker and the CLI use them: name, connector type, system kind and the
 * live connector, plus each stream's schedule.
 */
import '../connectors/all';
import { loadConnectorsConfig } from '../connectors/config';
import type { ConnectorsConfig } from '../connectors/config';
import { connectorRegistry, createConnectors, CreateConnectorOptions } from '../connectors/registry';
import { logger } from '../logging/logger';
import type { ConnectorInstance } from './pipeline';
import { extractSchedules, resolveSchedules, StreamSchedule } from './schedule';

export interface SyncSetup {
  /** The file the instances came from (for messages). */
  source: string;
  instances: Map<string, ConnectorInstance>;
  /** Every stream of every instance, with its schedule (`spec: null` = on demand only). */
  schedules: StreamSchedule[];
}

export interface LoadInstancesOptions extends CreateConnectorOptions {
  /** An already parsed config (tests); otherwise the file is read. */
  config?: ConnectorsConfig;
}

/** Reads the config, builds every instance (no I/O yet) and resolves the stream schedules. */
export function loadSyncSetup(configPath?: string, options: LoadInstancesOptions = {}): SyncSetup {
  const config = options.config ?? loadConnectorsConfig(configPath, options.env ?? process.env);
  const { entries, configured } = extractSchedules(config);
  const registry = options.registry ?? connectorRegistry;
  const connectors = createConnectors({ source: config.source, connectors: entries }, options);
  const instances = new Map<string, ConnectorInstance>();
  for (const entry of entries) {
    const definition = registry.get(entry.type)!; // createConnectors refused unknown types
    instances.set(entry.name, { name: entry.name, type: entry.type, system: definition.system, connector: connectors.get(entry.name)! });
  }
  return { source: config.source, instances, schedules: resolveSchedules(catalogOf(instances), configured, config.source) };
}

/** Connector instances by name, from `configPath` (else $JUNCTION_CONFIG, else ./junction.config.yaml). */
export function loadConnectorInstances(configPath?: string, options: LoadInstancesOptions = {}): Map<string, ConnectorInstance> {
  return loadSyncSetup(configPath, options).instances;
}

/** Closes every instance (logs out of vendor sessions); never throws. */
export async function closeInstances(instances: Map<string, ConnectorInstance>): Promise<void> {
  await Promise.all(
    [...instances.values()].map(async (i) => {
      try {
        await i.connector.close?.();
      } catch (e) {
        logger.warn('connector close failed', { connector: i.name, message: e instanceof Error ? e.message : String(e) });
      }
    }),
  );
}

/** Stream names by connector instance name. */
export type StreamCatalog = Map<string, string[]>;

export function catalogOf(instances: Map<string, ConnectorInstance>): StreamCatalog {
  return new Map([...instances].map(([name, i]) => [name, Object.keys(i.connector.streams)]));
}

/**
 * Every configured connector and its streams, read without the connectors' secrets: the config's
 * `{env: NAME}` credentials are not resolved (the gateway, which only validates names for
 * `runSync`, need not hold vendor credentials; only workers and `junction sync` do).
 */
export function loadStreamCatalog(configPath?: string): StreamCatalog {
  const config = loadConnectorsConfig(configPath);
  const placeholders = new Proxy({} as NodeJS.ProcessEnv, { get: (_t, key) => (typeof key === 'string' ? 'not-read' : undefined) });
  const setup = loadSyncSetup(undefined, { config, env: placeholders });
  // Built only to learn the stream names; never used for I/O, nothing to close.
  return catalogOf(setup.instances);
}

/** `unknown connector "x" (configured: a, b)` / `unknown stream "s" of connector crm (streams: ...)`, or null when both exist. */
export function describeUnknown(known: Map<string, ConnectorInstance> | StreamCatalog, connector: string, stream?: string | null): { field: 'connector' | 'stream'; message: string } | null {
  const entry = known.get(connector);
  if (!entry) {
    const names = [...known.keys()].sort();
    return { field: 'connector', message: `unknown connector "${connector}" (configured: ${names.join(', ') || 'none — add connectors to junction.config.yaml'})` };
  }
  const streams = Array.isArray(entry) ? entry : Object.keys(entry.connector.streams);
  if (stream !== undefined && stream !== null && !streams.includes(stream)) {
    return { field: 'stream', message: `unknown stream "${stream}" of connector ${connector} (streams: ${streams.join(', ')})` };
  }
  return null;
}
