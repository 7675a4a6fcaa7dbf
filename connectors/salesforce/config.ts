/**
 * The Salesforce-specific part of a `connectors[]` entry (`options`, `streams`, `credentials`),
 * validated in create(): every problem is reported at once as CONNECTOR_MISCONFIGURED, with its
 * path, and never with a credential value.
 */
import { ConnectorConfig, ConnectorError, Secret } from '../../src/connectors';
import { DEFAULT_API_VERSION, GrantType, MAX_BATCH_SIZE, MIN_BATCH_SIZE, SalesforceCredentials } from './client';

export const STREAM_NAMES = ['accounts', 'contacts', 'cases'] as const;
export type SalesforceStreamName = (typeof STREAM_NAMES)[number];

export interface StreamSettings {
  enabled: boolean;
  /** Sforce-Query-Options batchSize (200–2,000); ReadOptions.pageSize wins when given. */
  pageSize?: number;
  /** More fields to select, e.g. custom fields a mapping override reads. */
  extraFields: string[];
}

export interface SalesforceSettings {
  apiVersion: string;
  grantType: GrantType;
  loginUrl?: string;
  allowedInstanceOrigins: string[];
  requestLimitRetryAfterMs?: number;
  /** See DEFAULT_SETTLE_SECONDS. */
  settleSeconds: number;
  credentials: SalesforceCredentials;
  streams: {
    accounts: StreamSettings & { tierField: string };
    contacts: StreamSettings;
    cases: StreamSettings & { serialField: string };
  };
}

export const DEFAULT_TIER_FIELD = 'CustomerTier__c';
/**
 * Records stamped this close to the server's clock (or later) may still change within the same
 * second, or still be committing: a page cursor never moves past them, so the next read takes
 * them again (the pipeline skips unchanged versions). 0 = only the second that is not over yet.
 */
export const DEFAULT_SETTLE_SECONDS = 5;
export const DEFAULT_SERIAL_FIELD = 'Serial_Number__c';

const OPTION_KEYS = ['apiVersion', 'grantType', 'loginUrl', 'allowedInstanceUrls', 'requestLimitRetryAfterMs', 'settleSeconds'];
const STREAM_KEYS: Record<SalesforceStreamName, string[]> = {
  accounts: ['enabled', 'pageSize', 'extraFields', 'tierField'],
  contacts: ['enabled', 'pageSize', 'extraFields'],
  cases: ['enabled', 'pageSize', 'extraFields', 'serialField'],
};
const CREDENTIAL_KEYS = ['clientId', 'clientSecret', 'username', 'password', 'securityToken'];
/** A field API name, or a parent relationship path (Account.Name). Keeps SOQL injection out. */
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}(?:\.[A-Za-z][A-Za-z0-9_]{0,79}){0,4}$/;

export function parseSalesforceSettings(config: ConnectorConfig): SalesforceSettings {
  const issues: string[] = [];
  const o = config.options ?? {};

  for (const key of Object.keys(o)) if (!OPTION_KEYS.includes(key)) issues.push(`options.${key}: unknown option (allowed: ${OPTION_KEYS.join(', ')})`);

  let apiVersion = DEFAULT_API_VERSION;
  if (o.apiVersion !== undefined) {
    const m = /^v?(\d{2,3})(?:\.0)?$/.exec(String(o.apiVersion).trim());
    if (!m || (typeof o.apiVersion !== 'string' && typeof o.apiVersion !== 'number')) issues.push('options.apiVersion: must look like 59.0 or v59.0');
    else apiVersion = `${Number(m[1])}.0`;
  }

  const creds = config.credentials ?? {};
  for (const key of Object.keys(creds)) if (!CREDENTIAL_KEYS.includes(key)) issues.push(`credentials.${key}: unknown credential (allowed: ${CREDENTIAL_KEYS.join(', ')})`);

  let grantType: GrantType = creds.username ? 'password' : 'client_credentials';
  if (o.grantType !== undefined) {
    if (o.grantType !== 'client_credentials' && o.grantType !== 'password') issues.push('options.grantType: must be client_credentials or password');
    else grantType = o.grantType;
  }
  const need = ['clientId', 'clientSecret', ...(grantType === 'password' ? ['username', 'password'] : [])];
  for (const key of need) if (!(creds[key] instanceof Secret)) issues.push(`credentials.${key}: required for the ${grantType} grant`);

  let loginUrl: string | undefined;
  if (o.loginUrl !== undefined) {
    const origin = typeof o.loginUrl === 'string' ? httpOrigin(o.loginUrl) : undefined;
    if (!origin) issues.push('options.loginUrl: must be an http(s) origin such as https://login.salesforce.com');
    else loginUrl = origin;
  }

  const allowedInstanceOrigins: string[] = [];
  if (o.allowedInstanceUrls !== undefined) {
    if (!Array.isArray(o.allowedInstanceUrls)) issues.push('options.allowedInstanceUrls: must be a list of https origins');
    else
      o.allowedInstanceUrls.forEach((u: unknown, i: number) => {
        const origin = typeof u === 'string' ? httpOrigin(u) : undefined;
        if (!origin) issues.push(`options.allowedInstanceUrls[${i}]: must be an http(s) origin such as https://acme.my.salesforce.com`);
        else allowedInstanceOrigins.push(origin);
      });
  }

  let requestLimitRetryAfterMs: number | undefined;
  if (o.requestLimitRetryAfterMs !== undefined) {
    const v = o.requestLimitRetryAfterMs;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 86_400_000) issues.push('options.requestLimitRetryAfterMs: must be an integer from 0 to 86400000');
    else requestLimitRetryAfterMs = v;
  }

  let settleSeconds = DEFAULT_SETTLE_SECONDS;
  if (o.settleSeconds !== undefined) {
    const v = o.settleSeconds;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 3600) issues.push('options.settleSeconds: must be an integer from 0 to 3600');
    else settleSeconds = v;
  }

  for (const name of Object.keys(config.streams ?? {})) {
    if (!(STREAM_NAMES as readonly string[]).includes(name)) issues.push(`streams.${name}: unknown stream (Salesforce streams: ${STREAM_NAMES.join(', ')})`);
  }
  const stream = (name: SalesforceStreamName) => {
    const raw = config.streams?.[name] ?? {};
    const at = `streams.${name}`;
    for (const key of Object.keys(raw)) if (!STREAM_KEYS[name].includes(key)) issues.push(`${at}.${key}: unknown setting (allowed: ${STREAM_KEYS[name].join(', ')})`);
    const s: StreamSettings = { enabled: true, extraFields: [] };
    if (raw.enabled !== undefined) {
      if (typeof raw.enabled !== 'boolean') issues.push(`${at}.enabled: must be true or false`);
      else s.enabled = raw.enabled;
    }
    if (raw.pageSize !== undefined) {
      const v = raw.pageSize;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_BATCH_SIZE || v > MAX_BATCH_SIZE) issues.push(`${at}.pageSize: must be an integer from ${MIN_BATCH_SIZE} to ${MAX_BATCH_SIZE}`);
      else s.pageSize = v;
    }
    if (raw.extraFields !== undefined) {
      if (!Array.isArray(raw.extraFields)) issues.push(`${at}.extraFields: must be a list of field API names`);
      else
        raw.extraFields.forEach((f: unknown, i: number) => {
          if (typeof f !== 'string' || !FIELD_NAME.test(f)) issues.push(`${at}.extraFields[${i}]: must be a field API name such as Region__c`);
          else s.extraFields.push(f);
        });
    }
    return { raw, s };
  };
  const field = (value: unknown, at: string, fallback: string) => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !FIELD_NAME.test(value)) {
      issues.push(`${at}: must be a field API name such as ${fallback}`);
      return fallback;
    }
    return value;
  };

  const a = stream('accounts');
  const c = stream('contacts');
  const k = stream('cases');
  const settings: SalesforceSettings = {
    apiVersion,
    grantType,
    loginUrl,
    allowedInstanceOrigins,
    requestLimitRetryAfterMs,
    settleSeconds,
    credentials: {
      clientId: creds.clientId,
      clientSecret: creds.clientSecret,
      username: creds.username,
      password: creds.password,
      securityToken: creds.securityToken,
    },
    streams: {
      accounts: { ...a.s, tierField: field(a.raw.tierField, 'streams.accounts.tierField', DEFAULT_TIER_FIELD) },
      contacts: c.s,
      cases: { ...k.s, serialField: field(k.raw.serialField, 'streams.cases.serialField', DEFAULT_SERIAL_FIELD) },
    },
  };

  if (issues.length) {
    throw new ConnectorError({
      code: 'CONNECTOR_MISCONFIGURED',
      connector: config.name,
      message: `connector ${config.name} (salesforce) is misconfigured:\n${issues.map((i) => `  ${i}`).join('\n')}`,
    });
  }
  return settings;
}

function httpOrigin(s: string): string | undefined {
  try {
    const u = new URL(s);
    if (!/^https?:$/.test(u.protocol) || u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}
