/**
 * Connector types by name. A plain map: each connector module calls `connectorRegistry.register(def)`
 * and whoever starts the hub imports those modules; nothing is discovered from the file system.
 */
import { Clock, realClock } from './clock';
import { ConnectorsConfig, ConnectorEntry, resolveCredentials } from './config';
import type { Connector, ConnectorDefinition, ConnectorDeps, ConnectorHttpOptions } from './contract';
import { ConnectorError } from './errors';
import { createHttpClient, defaultHttpLogger, HttpLogger } from './http';
import { RateLimiter } from './rate-limit';

export class ConnectorRegistry {
  private readonly byType = new Map<string, ConnectorDefinition>();

  register(definition: ConnectorDefinition): void {
    if (this.byType.has(definition.name)) throw new Error(`connector type "${definition.name}" is already registered`);
    this.byType.set(definition.name, definition);
  }

  has(type: string): boolean {
    return this.byType.has(type);
  }

  get(type: string): ConnectorDefinition | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }
}

/** The process-wide registry the connectors in connectors/<name>/ register into. */
export const connectorRegistry = new ConnectorRegistry();

export interface CreateConnectorOptions {
  registry?: ConnectorRegistry;
  env?: NodeJS.ProcessEnv;
  /** Injected time for every HTTP client and limiter of the instance (tests). */
  clock?: Clock;
  logger?: HttpLogger;
  random?: () => number;
}

/** Builds one instance: looks up its type, resolves its credentials, hands it preset HTTP deps. */
export function createConnector(entry: ConnectorEntry, options: CreateConnectorOptions = {}): Connector {
  const registry = options.registry ?? connectorRegistry;
  const definition = registry.get(entry.type);
  if (!definition) {
    throw new ConnectorError({
      code: 'CONNECTOR_MISCONFIGURED',
      connector: entry.name,
      message: `connector ${entry.name}: unknown type "${entry.type}" (registered: ${registry.types().join(', ') || 'none'})`,
    });
  }
  const credentials = resolveCredentials(entry, options.env ?? process.env);
  const clock = options.clock ?? realClock;
  const logger = options.logger ?? defaultHttpLogger();
  // One limiter per instance, shared by all its clients: the vendor meters the account, not the client.
  const limiter = entry.rateLimit ? new RateLimiter(entry.rateLimit, clock) : undefined;
  const deps: ConnectorDeps = {
    clock,
    logger,
    http: (o: ConnectorHttpOptions = {}) =>
      createHttpClient({
        ...o,
        connector: entry.name,
        baseURL: o.baseURL ?? entry.baseUrl,
        timeoutMs: entry.timeoutMs ?? o.timeoutMs,
        retry: { ...o.retry, ...entry.retry },
        rateLimit: limiter ?? o.rateLimit,
        clock,
        logger,
        random: options.random,
      }),
  };
  return definition.create({ ...entry, credentials }, deps);
}

/** Every instance of a config file, by instance name. Fails on the first misconfigured one. */
export function createConnectors(config: ConnectorsConfig, options: CreateConnectorOptions = {}): Map<string, Connector> {
  return new Map(config.connectors.map((entry) => [entry.name, createConnector(entry, options)]));
}
