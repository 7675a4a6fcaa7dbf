/**
 * Salesforce CRM connector (`type: salesforce`): accounts and contacts → customer, cases →
 * complaint, read incrementally by SystemModstamp over the REST API. See README.md.
 */
import { Connector, ConnectorDefinition, connectorRegistry, HealthResult, isConnectorError, StreamDefinition } from '../../src/connectors';
import { SalesforceClient } from './client';
import { parseSalesforceSettings } from './config';
import { createQueryStream, streamSpecs } from './streams';
import { salesforceWrites } from './writes';

export { SalesforceClient } from './client';
export type { QueryResult, SalesforceRecord, SaveResult } from './client';
export { buildSoql, decodeCursor, encodeCursor, parseSalesforceDateTime, soqlDateTime } from './streams';

export const salesforceConnector: ConnectorDefinition = {
  name: 'salesforce',
  system: 'crm',
  create(config, deps): Connector {
    const settings = parseSalesforceSettings(config);
    const client = new SalesforceClient({
      connector: config.name,
      baseUrl: config.baseUrl,
      apiVersion: settings.apiVersion,
      grantType: settings.grantType,
      credentials: settings.credentials,
      loginUrl: settings.loginUrl,
      allowedInstanceOrigins: settings.allowedInstanceOrigins,
      requestLimitRetryAfterMs: settings.requestLimitRetryAfterMs,
      http: deps.http,
    });
    const streams: Record<string, StreamDefinition> = {};
    for (const spec of streamSpecs(settings)) streams[spec.name] = createQueryStream(client, spec, deps.clock);

    return {
      name: config.name,
      streams,
      write: salesforceWrites(client),
      async healthCheck(): Promise<HealthResult> {
        const started = deps.clock.now();
        try {
          // Authenticated and cheap; a 404 here means the org does not serve this API version.
          const resources = await client.versionResources({ maxAttempts: 1 });
          const details: Record<string, unknown> = { apiVersion: client.apiVersion, instance: client.instanceOrigin() };
          const ignored = client.ignoredInstanceUrl();
          if (ignored) details.ignoredInstanceUrl = ignored;
          if (typeof resources.query !== 'string') {
            return { ok: false, code: 'CONNECTOR_BAD_RESPONSE', message: `API v${client.apiVersion} lists no query resource`, latencyMs: deps.clock.now() - started, details };
          }
          return { ok: true, latencyMs: deps.clock.now() - started, details };
        } catch (err) {
          return {
            ok: false,
            code: isConnectorError(err) ? err.code : undefined,
            message: err instanceof Error ? err.message : String(err),
            latencyMs: deps.clock.now() - started,
          };
        }
      },
    };
  },
};

connectorRegistry.register(salesforceConnector);
