/**
 * Generic JSON-over-HTTP target: `type: http-json` in junction.config.yaml. For systems without
 * a vendor API of their own (a legacy MES, an old ERP) that accept JSON documents by POST: the
 * Excel push (README "Excel exchange") sends each imported row's document here.
 *
 *   connectors:
 *     - name: mes
 *       type: http-json
 *       baseUrl: https://mes.example.com/api
 *       credentials:                       # optional: token (Bearer), or username + password (Basic)
 *         token: { env: MES_TOKEN }
 *       options:
 *         path: /documents                 # where the `post` operation sends (default /documents)
 *         operations:                      # more write operations, each to its own path
 *           devices: { path: /devices }
 *         healthPath: /health              # GET, any 2xx is healthy (default /health)
 *
 * Every write is a POST of the mapped document with an `Idempotency-Key` header (the outbox
 * row's key): 2xx = applied (with Idempotent-Replayed: a duplicate); 409 = still in progress there (retried);
 * 429 / 5xx / timeouts = retried by the write-back queue; other 4xx = dead letter with the
 * target's message. See README.md in this folder.
 */
import { Connector, ConnectorDefinition, ConnectorError, connectorRegistry, HealthResult, HttpClient, isConnectorError, Secret } from '../../src/connectors';
import { httpJsonWrites, parseHttpJsonOptions } from './writes';

export * from './writes';

export interface HttpJsonConnector extends Connector {
  readonly http: HttpClient;
}

/** `token` → Bearer; `username` + `password` → Basic; nothing → no Authorization header. */
function authHeaders(config: { name: string; credentials: Record<string, Secret> }, problems: string[]): () => Record<string, string> {
  const { token, username, password, ...other } = config.credentials;
  for (const field of Object.keys(other)) problems.push(`credentials.${field}: unknown credential (http-json takes token, or username and password)`);
  if (token && (username || password)) problems.push('credentials: give either token or username and password, not both');
  if (!token && (!!username !== !!password)) problems.push('credentials: Basic auth needs both username and password');
  if (token) return () => ({ Authorization: `Bearer ${token.reveal()}` });
  if (username && password) return () => ({ Authorization: `Basic ${Buffer.from(`${username.reveal()}:${password.reveal()}`).toString('base64')}` });
  return () => ({});
}

export const httpJsonConnector: ConnectorDefinition = {
  name: 'http-json',
  // A target for systems of record without an API of their own (MES, old ERP): the ERP kind.
  system: 'erp',
  create(config, deps): HttpJsonConnector {
    const problems: string[] = [];
    const headers = authHeaders(config, problems);
    const options = parseHttpJsonOptions(config.options, problems);
    for (const stream of Object.keys(config.streams)) problems.push(`streams.${stream}: http-json is a write target only; it has no streams`);
    if (problems.length) {
      throw new ConnectorError({ connector: config.name, code: 'CONNECTOR_MISCONFIGURED', message: `connector ${config.name}: ${problems.join('; ')}` });
    }
    // The token is sent as a fixed header through an auth strategy, so logs never show it and a 401 is CONNECTOR_AUTH_FAILED.
    const http = deps.http({ auth: { getToken: async () => ({ headers: headers() }) } });
    return {
      name: config.name,
      http,
      streams: {},
      write: httpJsonWrites(http, config.name, options),
      async healthCheck(): Promise<HealthResult> {
        const started = deps.clock.now();
        try {
          const res = await http.get(options.healthPath, { maxAttempts: 1, responseType: 'text' });
          return { ok: true, latencyMs: deps.clock.now() - started, details: { status: res.status } };
        } catch (err) {
          const latencyMs = deps.clock.now() - started;
          if (isConnectorError(err)) return { ok: false, code: err.code, message: err.message, latencyMs };
          return { ok: false, message: `${config.name}: health check failed unexpectedly (${err instanceof Error ? err.name : typeof err})`, latencyMs };
        }
      },
    };
  },
};

connectorRegistry.register(httpJsonConnector);
