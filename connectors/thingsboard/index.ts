/**
 * ThingsBoard (IoT platform) connector: `type: thingsboard` in junction.config.yaml.
 *
 *   connectors:
 *     - name: iot
 *       type: thingsboard
 *       baseUrl: https://thingsboard.example.com
 *       credentials:                       # or, ThingsBoard 4.3+: apiKey: { env: TB_API_KEY }
 *         username: { env: TB_USERNAME }
 *         password: { env: TB_PASSWORD }
 *       rateLimit: { requestsPerSecond: 10, maxConcurrent: 4 }
 *       streams:
 *         devices: { pageSize: 100, serialField: name, concurrency: 4 }
 *
 * See README.md in this folder for the settings and the reasoning behind the incremental read.
 */
import { Connector, ConnectorDefinition, ConnectorError, connectorRegistry, HealthResult, HttpClient, isConnectorError, Secret } from '../../src/connectors';
import { ThingsBoardApiKeyAuth, ThingsBoardAuth, ThingsBoardClient, thingsboardVendorErrors } from './client';
import { devicesStream, parseDevicesSettings } from './streams';
import { thingsboardWrites } from './writes';

export * from './client';
export * from './streams';

/** Applied when the config sets no `rateLimit`: at most this many requests in flight. */
export const DEFAULT_MAX_CONCURRENT = 8;

export interface ThingsBoardConnector extends Connector {
  /** The typed client (write-back will build on it). */
  readonly client: ThingsBoardClient;
  /** Logins and refreshes sent so far. */
  readonly authStats: Readonly<{ logins: number; refreshes: number }>;
}

export const thingsboardConnector: ConnectorDefinition = {
  name: 'thingsboard',
  system: 'iot',
  create(config, deps): ThingsBoardConnector {
    const problems: string[] = [];
    const { username, password, apiKey, ...otherCredentials } = config.credentials;
    if (apiKey instanceof Secret) {
      if (username || password) problems.push('credentials: give either apiKey or username and password, not both');
    } else {
      for (const [field, value] of Object.entries({ username, password })) {
        if (!(value instanceof Secret)) problems.push(`credentials.${field} is required ({env: VAR_NAME}), or credentials.apiKey`);
      }
    }
    for (const field of Object.keys(otherCredentials)) problems.push(`credentials.${field}: unknown credential (ThingsBoard takes username and password, or apiKey)`);
    for (const stream of Object.keys(config.streams)) {
      if (stream !== 'devices') problems.push(`streams.${stream}: unknown stream (ThingsBoard has: devices)`);
    }
    for (const option of Object.keys(config.options)) problems.push(`options.${option}: unknown option (ThingsBoard has none; stream settings go under streams.devices)`);
    if (problems.length) {
      throw new ConnectorError({ connector: config.name, code: 'CONNECTOR_MISCONFIGURED', message: `connector ${config.name}: ${problems.join('; ')}` });
    }
    const settings = parseDevicesSettings(config.streams.devices ?? {}, config.name);

    // The strategy logs in through the same client (with `auth: false`), so both share the
    // instance's rate limiter and logging.
    const auth =
      apiKey instanceof Secret
        ? new ThingsBoardApiKeyAuth(apiKey)
        : new ThingsBoardAuth({ connector: config.name, username: username!, password: password!, clock: deps.clock, http: () => http });
    const http: HttpClient = deps.http({ auth, vendorErrors: thingsboardVendorErrors, rateLimit: { maxConcurrent: DEFAULT_MAX_CONCURRENT } });
    const client = new ThingsBoardClient(http, config.name);

    return {
      name: config.name,
      client,
      authStats: auth.stats,
      streams: { devices: devicesStream({ connector: config.name, client, settings }) },
      write: thingsboardWrites(client, config.name),
      async healthCheck(): Promise<HealthResult> {
        const started = deps.clock.now();
        try {
          const user = await client.currentUser({ maxAttempts: 1 });
          return { ok: true, latencyMs: deps.clock.now() - started, details: { authority: user.authority } };
        } catch (err) {
          const latencyMs = deps.clock.now() - started;
          if (isConnectorError(err)) return { ok: false, code: err.code, message: err.message, latencyMs };
          return { ok: false, message: `${config.name}: health check failed unexpectedly (${err instanceof Error ? err.name : typeof err})`, latencyMs };
        }
      },
      close() {
        if (auth instanceof ThingsBoardAuth) auth.clear();
      },
    };
  },
};

connectorRegistry.register(thingsboardConnector);
