/**
 * Connector instances from the YAML config file (`junction.config.yaml`, or the path in
 * JUNCTION_CONFIG). The file holds references to secrets, never secrets: `{env: NAME}`, or
 * `{value: ...}` for sandbox instances only. Validation reports every problem at once, each
 * with its path (`connectors[1].baseUrl`) and line, and never echoes a credential value.
 *
 *   connectors:
 *     - name: crm
 *       type: salesforce
 *       baseUrl: https://acme.my.salesforce.com
 *       credentials:
 *         clientId: { env: SF_CLIENT_ID }
 *         clientSecret: { env: SF_CLIENT_SECRET }
 *       rateLimit: { requestsPerSecond: 5, maxConcurrent: 2 }
 *       streams:
 *         accounts: { pageSize: 500 }
 *
 * Other top-level sections of the file belong to other parts of the hub and are ignored here.
 */
import { existsSync, readFileSync } from 'fs';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { ConnectorConfig } from './contract';
import { ConnectorError } from './errors';
import type { RetryOptions } from './http';
import type { RateLimitOptions } from './rate-limit';
import { Secret } from './secret';
import { parseWebhookSection, WebhookSettings } from '../webhooks/config';

export const DEFAULT_CONFIG_PATH = 'junction.config.yaml';

export type CredentialRef = { env: string } | { value: string };

/** One `connectors[]` entry as validated from the file; credentials not yet resolved. */
export type ConnectorEntry = Omit<ConnectorConfig, 'credentials'> & {
  credentials: Record<string, CredentialRef>;
  /** Inbound push (`POST /webhooks/<name>`): how senders are verified (src/webhooks/config.ts). */
  webhook?: WebhookSettings;
};

export interface ConnectorsConfig {
  /** File the config came from, for messages. */
  source: string;
  connectors: ConnectorEntry[];
}

export interface ConfigIssue {
  /** e.g. `connectors[1].baseUrl` */
  path: string;
  line?: number;
  message: string;
}

/** Thrown for an invalid config file; `issues` lists every problem found. */
export class ConfigError extends ConnectorError {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super({
      code: 'CONNECTOR_MISCONFIGURED',
      connector: 'config',
      message:
        `${source} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.path}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`).join('\n'),
    });
    this.name = 'ConfigError';
  }
}

/** Reads the file at `path`, else $JUNCTION_CONFIG, else ./junction.config.yaml (absent = no connectors). */
export function loadConnectorsConfig(path?: string, env: NodeJS.ProcessEnv = process.env): ConnectorsConfig {
  const explicit = path ?? (env.JUNCTION_CONFIG || undefined);
  const file = explicit ?? DEFAULT_CONFIG_PATH;
  if (!existsSync(file)) {
    if (!explicit) return { source: file, connectors: [] };
    const from = path ? '' : ' (from JUNCTION_CONFIG)';
    throw new ConfigError(file, [{ path: '(file)', message: `config file not found${from}` }]);
  }
  return parseConnectorsConfig(readFileSync(file, 'utf8'), file);
}

const ENTRY_KEYS = ['name', 'type', 'baseUrl', 'sandbox', 'credentials', 'timeoutMs', 'retry', 'rateLimit', 'streams', 'options', 'webhook'];
const RETRY_KEYS = ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'];
const RATE_KEYS = ['requestsPerSecond', 'burst', 'maxConcurrent'];
const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Stream and credential field names (also keeps `__proto__` out of the objects built here). */
const STREAM_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

export function parseConnectorsConfig(text: string, source: string = DEFAULT_CONFIG_PATH): ConnectorsConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: '(yaml)', line: lines.linePos(e.pos[0]).line, message: e.message.split('\n')[0] })),
    );
  }
  const issues: ConfigIssue[] = [];
  const issue = (path: Array<string | number>, message: string) => {
    issues.push({ path: formatPath(path), line: lineOf(path), message });
  };
  // Line of the deepest node on `path` that exists (a missing key points at its parent).
  const lineOf = (path: Array<string | number>): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };

  const root: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (!isMap(root)) {
    issue([], 'the file must be a mapping with a `connectors:` list');
    throw new ConfigError(source, issues);
  }
  const list = root.connectors ?? [];
  if (!Array.isArray(list)) {
    issue(['connectors'], 'must be a list of connector entries');
    throw new ConfigError(source, issues);
  }

  const seen = new Map<string, number>();
  const connectors: ConnectorEntry[] = [];
  list.forEach((raw: unknown, i: number) => {
    const at = (...rest: Array<string | number>) => ['connectors', i, ...rest];
    if (!isMap(raw)) return issue(at(), 'must be a mapping with name, type and baseUrl');
    for (const key of Object.keys(raw)) if (!ENTRY_KEYS.includes(key)) issue(at(key), `unknown key (allowed: ${ENTRY_KEYS.join(', ')})`);

    const name = raw.name;
    if (typeof name !== 'string' || !NAME.test(name)) {
      issue(at('name'), 'required: lower-case letters, digits, - or _, starting with a letter');
    } else if (seen.has(name)) {
      issue(at('name'), `duplicate name "${name}" (also connectors[${seen.get(name)}])`);
    } else seen.set(name, i);

    if (typeof raw.type !== 'string' || !NAME.test(raw.type)) issue(at('type'), 'required: a connector type such as salesforce');

    const baseUrl = raw.baseUrl;
    if (typeof baseUrl !== 'string' || !isHttpUrl(baseUrl)) {
      issue(at('baseUrl'), 'required: an http(s) URL without credentials, query or fragment');
    }

    if (raw.sandbox !== undefined && typeof raw.sandbox !== 'boolean') issue(at('sandbox'), 'must be true or false');
    const sandbox = raw.sandbox === true;

    const credentials: Record<string, CredentialRef> = {};
    if (raw.credentials !== undefined && raw.credentials !== null) {
      if (!isMap(raw.credentials)) issue(at('credentials'), 'must be a mapping of name: {env: VAR} or {value: ...}');
      else
        for (const [field, ref] of Object.entries(raw.credentials)) {
          const where = at('credentials', field);
          if (!STREAM_NAME.test(field)) issue(where, 'invalid credential name');
          else if (!isMap(ref) || Object.keys(ref).length !== 1) {
            // Never echo it: a plain string here is most likely the secret itself.
            issue(where, 'must be {env: VAR_NAME} (or {value: ...} for a sandbox); the value is not shown');
          } else if ('env' in ref) {
            if (typeof ref.env !== 'string' || !ENV_NAME.test(ref.env)) issue([...where, 'env'], 'must be an environment variable name');
            else credentials[field] = { env: ref.env };
          } else if ('value' in ref) {
            if (!sandbox) issue(where, 'literal {value} credentials are only allowed with `sandbox: true`; use {env: VAR_NAME}');
            else if (typeof ref.value !== 'string' && typeof ref.value !== 'number') issue([...where, 'value'], 'must be a string');
            else credentials[field] = { value: String(ref.value) };
          } else issue(where, 'must be {env: VAR_NAME} (or {value: ...} for a sandbox)');
        }
    }

    const timeoutMs = optionalNumber(raw.timeoutMs, at('timeoutMs'), { integer: true, min: 1, max: 600_000 }, issue);
    const retry = numberGroup<RetryOptions>(raw.retry, at('retry'), RETRY_KEYS, issue, {
      maxAttempts: { integer: true, min: 1, max: 20 },
      baseDelayMs: { integer: true, min: 0, max: 600_000 },
      maxDelayMs: { integer: true, min: 0, max: 600_000 },
      maxRetryAfterMs: { integer: true, min: 0, max: 3_600_000 },
    });
    const rateLimit = numberGroup<RateLimitOptions>(raw.rateLimit, at('rateLimit'), RATE_KEYS, issue, {
      requestsPerSecond: { min: 0.001, max: 10_000 },
      burst: { min: 1, max: 10_000 },
      maxConcurrent: { integer: true, min: 1, max: 1_000 },
    });

    const streams: Record<string, Record<string, unknown>> = {};
    if (raw.streams !== undefined && raw.streams !== null) {
      if (!isMap(raw.streams)) issue(at('streams'), 'must be a mapping of stream name to its settings');
      else
        for (const [stream, settings] of Object.entries(raw.streams)) {
          if (!STREAM_NAME.test(stream)) issue(at('streams', stream), 'invalid stream name');
          else if (settings === null) streams[stream] = {};
          else if (!isMap(settings)) issue(at('streams', stream), 'must be a mapping of settings (or empty)');
          else streams[stream] = settings;
        }
    }

    let options: Record<string, unknown> = {};
    if (raw.options !== undefined && raw.options !== null) {
      if (!isMap(raw.options)) issue(at('options'), 'must be a mapping');
      else options = raw.options;
    }

    const webhook = parseWebhookSection(raw.webhook, at('webhook'), issue, sandbox);

    connectors.push({
      name: String(name),
      type: String(raw.type),
      baseUrl: String(baseUrl),
      sandbox,
      credentials,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(retry ? { retry } : {}),
      ...(rateLimit ? { rateLimit } : {}),
      streams,
      options,
      ...(webhook ? { webhook } : {}),
    });
  });

  if (issues.length) throw new ConfigError(source, issues);
  return { source, connectors };
}

/**
 * Reads the referenced environment variables. Every missing one is named (connector, field and
 * variable, never a value) in a single CONNECTOR_MISCONFIGURED error.
 */
export function resolveCredentials(entry: Pick<ConnectorEntry, 'name' | 'credentials'>, env: NodeJS.ProcessEnv = process.env): Record<string, Secret> {
  const out: Record<string, Secret> = {};
  const missing: string[] = [];
  for (const [field, ref] of Object.entries(entry.credentials)) {
    if ('value' in ref) out[field] = new Secret(ref.value);
    else {
      const v = env[ref.env];
      if (v === undefined || v === '') missing.push(`credentials.${field} needs environment variable ${ref.env}, which is not set`);
      else out[field] = new Secret(v);
    }
  }
  if (missing.length) {
    throw new ConnectorError({ code: 'CONNECTOR_MISCONFIGURED', connector: entry.name, message: `connector ${entry.name}: ${missing.join('; ')}` });
  }
  return out;
}

type Issue = (path: Array<string | number>, message: string) => void;
interface NumberRule {
  integer?: boolean;
  min: number;
  max: number;
}

function optionalNumber(v: unknown, path: Array<string | number>, rule: NumberRule, issue: Issue): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (rule.integer && !Number.isInteger(v)) || v < rule.min || v > rule.max) {
    issue(path, `must be ${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}`);
    return undefined;
  }
  return v;
}

function numberGroup<T>(v: unknown, path: Array<string | number>, keys: string[], issue: Issue, rules: Record<string, NumberRule>): T | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) {
    issue(path, `must be a mapping with ${keys.join(', ')}`);
    return undefined;
  }
  const out: Record<string, number> = {};
  for (const [k, value] of Object.entries(v)) {
    if (!keys.includes(k)) issue([...path, k], `unknown key (allowed: ${keys.join(', ')})`);
    else {
      const n = optionalNumber(value, [...path, k], rules[k], issue);
      if (n !== undefined) out[k] = n;
    }
  }
  return out as T;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && !u.search && !u.hash;
  } catch {
    return false;
  }
}

function formatPath(path: Array<string | number>): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(root)';
}
