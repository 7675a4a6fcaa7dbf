/**
 * The Kingdee K3 Cloud (金蝶云星空) connector: `type: kingdee` in junction.config.yaml.
 *
 *   connectors:
 *     - name: erp
 *       type: kingdee
 *       baseUrl: https://erp.example.com/k3cloud/
 *       credentials:
 *         username: { env: KD_USERNAME }
 *         password: { env: KD_PASSWORD }          # or appId + appSecret (LoginByAppSecret)
 *       options:
 *         acctId: 66f2a81c3d9e47                   # 数据中心 ID
 *       streams:
 *         materials: { filter: "FMaterialGroup.FNumber IN ('BJ01','BJ02')" }
 *         serials: { fields: { WarrantyEnd: F_ABC_WarrantyEnd } }
 *
 * See README.md in this folder for every option.
 */
import {
  Connector,
  ConnectorConfig,
  ConnectorDefinition,
  ConnectorDeps,
  ConnectorError,
  connectorRegistry,
  HealthResult,
  isConnectorError,
  StreamDefinition,
} from '../../src/connectors';
import { KingdeeClient, KingdeeCredentials, KingdeeRequestFormat, KINGDEE_MAX_LIMIT } from './client';
import { kingdeeWrites } from './writes';
import { createStream, DEFAULT_SETTLE_SECONDS, defaultStreamSpecs, KingdeeStreamName, requiredColumns, StreamSpec, STREAM_NAMES } from './streams';

export { KingdeeClient, KINGDEE_SERVICES } from './client';
export type { BillQuery, KingdeeCredentials, KingdeeRequestFormat, SaveResult } from './client';
export { defaultStreamSpecs, STREAM_NAMES } from './streams';
export type { ColumnSpec, KingdeeStreamName, StreamSpec } from './streams';

export const KINGDEE_TYPE = 'kingdee';

/** Connector-level `options:` of a kingdee entry. */
export interface KingdeeOptions {
  /** 数据中心 ID (acctID); may also be given as credentials.acctId. */
  acctId: string;
  /** Language id, default 2052 (简体中文). */
  lcid: number;
  /** Request body form, default 'data' (see client.ts). */
  requestFormat: KingdeeRequestFormat;
  /** UTC offset of the K3 server's clock, which FModifyDate is written in. Default '+08:00'. */
  timezone: string;
  utcOffsetMinutes: number;
  /** Incremental cursors stay this many seconds behind the K3 server's time (late commits). Default 10. */
  settleSeconds: number;
}

/** A kingdee instance; `client` is exposed for write-back (Save) and ad-hoc queries. */
export interface KingdeeConnector extends Connector {
  readonly client: KingdeeClient;
  readonly options: KingdeeOptions;
  readonly specs: Record<KingdeeStreamName, StreamSpec>;
}

const OPTION_KEYS = ['acctId', 'lcid', 'requestFormat', 'timezone', 'settleSeconds'];
const STREAM_KEYS = ['formId', 'filter', 'fields', 'pageSize'];
const CREDENTIAL_KEYS = ['username', 'password', 'appId', 'appSecret', 'acctId'];
const FIELD_KEY = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const FORM_ID = /^[A-Za-z][A-Za-z0-9_]*$/;
const TIMEZONE = /^([+-])(\d{2}):(\d{2})$/;

/** Validates a config entry into options, credentials and stream specs; every problem at once. */
export function parseKingdeeConfig(config: ConnectorConfig): { options: KingdeeOptions; credentials: KingdeeCredentials; specs: Record<KingdeeStreamName, StreamSpec> } {
  const problems: string[] = [];
  const o = config.options ?? {};
  for (const k of Object.keys(o)) if (!OPTION_KEYS.includes(k)) problems.push(`options.${k}: unknown option (allowed: ${OPTION_KEYS.join(', ')})`);

  const creds = config.credentials;
  for (const k of Object.keys(creds)) if (!CREDENTIAL_KEYS.includes(k)) problems.push(`credentials.${k}: unknown credential (allowed: ${CREDENTIAL_KEYS.join(', ')})`);

  let acctId = '';
  if (o.acctId !== undefined && creds.acctId) problems.push('acctId: give it in options or in credentials, not both');
  if (o.acctId !== undefined) {
    if ((typeof o.acctId !== 'string' && typeof o.acctId !== 'number') || String(o.acctId).trim() === '') problems.push('options.acctId: must be the account set (数据中心) id');
    else acctId = String(o.acctId).trim();
  } else if (creds.acctId) acctId = creds.acctId.reveal().trim();
  else problems.push('options.acctId: required (the 数据中心 ID of the account set)');

  const lcid = o.lcid ?? 2052;
  if (typeof lcid !== 'number' || !Number.isInteger(lcid) || lcid <= 0) problems.push('options.lcid: must be a language id such as 2052');

  const requestFormat = o.requestFormat ?? 'data';
  if (requestFormat !== 'data' && requestFormat !== 'parameters') problems.push("options.requestFormat: must be 'data' or 'parameters'");

  const timezone = o.timezone ?? '+08:00';
  const tz = typeof timezone === 'string' ? TIMEZONE.exec(timezone) : null;
  const utcOffsetMinutes = tz ? (tz[1] === '-' ? -1 : 1) * (Number(tz[2]) * 60 + Number(tz[3])) : 0;
  if (!tz || Math.abs(utcOffsetMinutes) > 14 * 60) problems.push("options.timezone: must be a UTC offset such as '+08:00'");

  const settleSeconds = o.settleSeconds ?? DEFAULT_SETTLE_SECONDS;
  if (typeof settleSeconds !== 'number' || !Number.isInteger(settleSeconds) || settleSeconds < 0 || settleSeconds > 3600) {
    problems.push('options.settleSeconds: must be an integer from 0 to 3600');
  }

  let credentials: KingdeeCredentials | undefined;
  const username = creds.username?.reveal();
  if (!username) problems.push('credentials.username: required');
  if (creds.password && (creds.appId || creds.appSecret)) problems.push('credentials: give password (ValidateUser) or appId + appSecret (LoginByAppSecret), not both');
  else if (creds.password) credentials = { kind: 'password', username: username ?? '', password: creds.password };
  else if (creds.appId && creds.appSecret) credentials = { kind: 'appSecret', username: username ?? '', appId: creds.appId.reveal(), appSecret: creds.appSecret };
  else problems.push('credentials: password, or appId and appSecret, are required');

  const specs = defaultStreamSpecs();
  for (const [name, settings] of Object.entries(config.streams ?? {})) {
    const at = `streams.${name}`;
    if (!(STREAM_NAMES as readonly string[]).includes(name)) {
      problems.push(`${at}: unknown stream (kingdee streams: ${STREAM_NAMES.join(', ')})`);
      continue;
    }
    const spec = specs[name as KingdeeStreamName];
    for (const k of Object.keys(settings)) if (!STREAM_KEYS.includes(k)) problems.push(`${at}.${k}: unknown setting (allowed: ${STREAM_KEYS.join(', ')})`);
    if (settings.formId !== undefined) {
      if (typeof settings.formId !== 'string' || !FORM_ID.test(settings.formId)) problems.push(`${at}.formId: must be a FormId such as ${spec.formId}`);
      else spec.formId = settings.formId;
    }
    if (settings.filter !== undefined && settings.filter !== null) {
      if (typeof settings.filter !== 'string') problems.push(`${at}.filter: must be a FilterString ('' for none)`);
      else spec.filter = settings.filter.trim();
    }
    if (settings.pageSize !== undefined) {
      const n = settings.pageSize;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > KINGDEE_MAX_LIMIT) problems.push(`${at}.pageSize: must be an integer from 1 to ${KINGDEE_MAX_LIMIT}`);
      else spec.pageSize = n;
    }
    if (settings.fields !== undefined && settings.fields !== null) {
      const fields = settings.fields;
      if (typeof fields !== 'object' || Array.isArray(fields)) problems.push(`${at}.fields: must map column names to field keys`);
      else
        for (const [column, key] of Object.entries(fields as Record<string, unknown>)) {
          const where = `${at}.fields.${column}`;
          if (!FIELD_KEY.test(column)) problems.push(`${where}: invalid column name`);
          else if (key === null) {
            if (requiredColumns(spec).includes(column)) problems.push(`${where}: the stream needs this column; point it at another field key instead of removing it`);
            else spec.columns = spec.columns.filter((c) => c.name !== column);
          } else if (typeof key !== 'string' || !FIELD_KEY.test(key)) problems.push(`${where}: must be a field key such as FNumber or FCustId.FNumber (or null to drop the column)`);
          else {
            const existing = spec.columns.find((c) => c.name === column);
            if (existing) existing.key = key;
            else spec.columns.push({ name: column, key });
          }
        }
    }
    const keys = spec.columns.map((c) => c.key.toLowerCase());
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup) problems.push(`${at}.fields: field key ${dup} is queried twice`);
  }

  if (problems.length || !credentials) {
    throw new ConnectorError({
      code: 'CONNECTOR_MISCONFIGURED',
      connector: config.name,
      message: `connector ${config.name} (kingdee) is misconfigured:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    });
  }
  return {
    options: { acctId, lcid: lcid as number, requestFormat: requestFormat as KingdeeRequestFormat, timezone: timezone as string, utcOffsetMinutes, settleSeconds: settleSeconds as number },
    credentials,
    specs,
  };
}

export const kingdeeConnector: ConnectorDefinition = {
  name: KINGDEE_TYPE,
  system: 'erp',
  create(config: ConnectorConfig, deps: ConnectorDeps): KingdeeConnector {
    const { options, credentials, specs } = parseKingdeeConfig(config);
    const client = new KingdeeClient(deps.http, {
      connector: config.name,
      acctId: options.acctId,
      credentials,
      lcid: options.lcid,
      requestFormat: options.requestFormat,
      clock: deps.clock,
    });
    const ctx = { client, connector: config.name, utcOffsetMinutes: options.utcOffsetMinutes, clock: deps.clock, settleSeconds: options.settleSeconds };
    const streams: Record<string, StreamDefinition> = {};
    for (const name of STREAM_NAMES) streams[name] = createStream(ctx, specs[name]);

    const healthCheck = async (): Promise<HealthResult> => {
      // A one-row query proves the whole path: reachable, login accepted, session and query rights.
      const spec = specs.customers;
      const started = deps.clock.now();
      const idKey = spec.columns.find((c) => c.name === (spec.mode === 'incremental' ? spec.idColumns[0] : spec.idColumn))!.key;
      try {
        await client.executeBillQuery({ FormId: spec.formId, FieldKeys: idKey, TopRowCount: 1, StartRow: 0, Limit: 1 }, { maxAttempts: 1 });
        return { ok: true, latencyMs: deps.clock.now() - started, details: { acctId: options.acctId, formId: spec.formId } };
      } catch (err) {
        const latencyMs = deps.clock.now() - started;
        if (isConnectorError(err)) return { ok: false, code: err.code, message: err.message, latencyMs };
        return { ok: false, message: err instanceof Error ? err.message : String(err), latencyMs };
      }
    };

    return {
      name: config.name,
      streams,
      healthCheck,
      write: kingdeeWrites(client, config.name),
      client,
      options,
      specs,
      close: () => client.logout(),
    };
  },
};

connectorRegistry.register(kingdeeConnector);
