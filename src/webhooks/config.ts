/**
 * The `webhook:` section of a connector instance in junction.config.yaml: how that instance's
 * pushes to `POST /webhooks/<name>` prove who sent them. Secrets are `{env: NAME}` references like
 * the connector's credentials (`{value: ...}` only with `sandbox: true`) and are read when a
 * request arrives, never logged.
 *
 *   webhook:
 *     mode: hmac-sha256            # or shared-secret
 *     secret: { env: CRM_WEBHOOK_SECRET }
 *     signatureHeader: X-Junction-Signature   # hmac-sha256: hex (or base64) HMAC of "<timestamp>.<body>"
 *     timestampHeader: X-Junction-Timestamp   # unix seconds (or ms); required for hmac-sha256
 *     tokenHeader: X-Junction-Token           # shared-secret: the secret itself
 *     eventIdHeader: X-Junction-Event-Id      # optional sender's delivery id (replay guard)
 *     toleranceSeconds: 300
 *     maxBytes: 1048576
 *     organizationIds: [00D5g000004XyZ1EAK]  # Salesforce Outbound Messages: allowed orgs
 *     outboundMessageToken: { env: CRM_OM_TOKEN }   # Outbound Messages' ?token=…; default: secret
 */
import type { CredentialRef } from '../connectors/config';
import { Secret } from '../connectors/secret';

export type WebhookMode = 'hmac-sha256' | 'shared-secret';

export interface WebhookSettings {
  mode: WebhookMode;
  secret: CredentialRef;
  signatureHeader: string;
  timestampHeader: string;
  tokenHeader: string;
  eventIdHeader: string;
  toleranceSeconds: number;
  maxBytes: number;
  organizationIds: string[];
  outboundMessageToken?: CredentialRef;
}

export const WEBHOOK_DEFAULTS = {
  signatureHeader: 'X-Junction-Signature',
  timestampHeader: 'X-Junction-Timestamp',
  tokenHeader: 'X-Junction-Token',
  eventIdHeader: 'X-Junction-Event-Id',
  toleranceSeconds: 300,
  maxBytes: 1024 * 1024,
};

const KEYS = ['mode', 'secret', 'signatureHeader', 'timestampHeader', 'tokenHeader', 'eventIdHeader', 'toleranceSeconds', 'maxBytes', 'organizationIds', 'outboundMessageToken'];
const HEADER = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ORG_ID = /^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$/;

type Issue = (path: Array<string | number>, message: string) => void;

/** Validates the section (every problem through `issue`, with its path); undefined when absent or invalid. */
export function parseWebhookSection(raw: unknown, at: Array<string | number>, issue: Issue, sandbox: boolean): WebhookSettings | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issue(at, 'must be a mapping with mode and secret');
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const before = { count: 0 };
  const report: Issue = (p, m) => { before.count++; issue(p, m); };
  for (const key of Object.keys(r)) if (!KEYS.includes(key)) report([...at, key], `unknown key (allowed: ${KEYS.join(', ')})`);
  if (r.mode !== 'hmac-sha256' && r.mode !== 'shared-secret') report([...at, 'mode'], 'required: hmac-sha256 or shared-secret');
  const secret = secretRef(r.secret, [...at, 'secret'], report, sandbox, true);
  const outboundMessageToken = secretRef(r.outboundMessageToken, [...at, 'outboundMessageToken'], report, sandbox, false);
  const header = (key: keyof typeof WEBHOOK_DEFAULTS & `${string}Header`): string => {
    const v = r[key];
    if (v === undefined || v === null) return WEBHOOK_DEFAULTS[key];
    if (typeof v !== 'string' || !HEADER.test(v)) report([...at, key], 'must be an HTTP header name (letters, digits, -)');
    return String(v);
  };
  const int = (key: 'toleranceSeconds' | 'maxBytes', min: number, max: number): number => {
    const v = r[key];
    if (v === undefined || v === null) return WEBHOOK_DEFAULTS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) report([...at, key], `must be an integer from ${min} to ${max}`);
    return Number(v);
  };
  const settings: WebhookSettings = {
    mode: r.mode as WebhookMode,
    secret: secret!,
    signatureHeader: header('signatureHeader'),
    timestampHeader: header('timestampHeader'),
    tokenHeader: header('tokenHeader'),
    eventIdHeader: header('eventIdHeader'),
    toleranceSeconds: int('toleranceSeconds', 1, 86_400),
    maxBytes: int('maxBytes', 1024, 50 * 1024 * 1024),
    organizationIds: [],
    ...(outboundMessageToken ? { outboundMessageToken } : {}),
  };
  if (r.organizationIds !== undefined && r.organizationIds !== null) {
    if (!Array.isArray(r.organizationIds) || !r.organizationIds.every((o) => typeof o === 'string' && ORG_ID.test(o))) {
      report([...at, 'organizationIds'], 'must be a list of Salesforce organization ids (00D…, 15 or 18 characters)');
    } else settings.organizationIds = r.organizationIds.map((o: string) => o.slice(0, 15));
  }
  return before.count ? undefined : settings;
}

function secretRef(v: unknown, at: Array<string | number>, issue: Issue, sandbox: boolean, required: boolean): CredentialRef | undefined {
  if (v === undefined || v === null) {
    if (required) issue(at, 'required: {env: VAR_NAME}');
    return undefined;
  }
  if (typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length !== 1) {
    // Never echo it: a plain string here is most likely the secret itself.
    issue(at, 'must be {env: VAR_NAME} (or {value: ...} for a sandbox); the value is not shown');
    return undefined;
  }
  const ref = v as Record<string, unknown>;
  if ('env' in ref) {
    if (typeof ref.env === 'string' && ENV_NAME.test(ref.env)) return { env: ref.env };
    issue([...at, 'env'], 'must be an environment variable name');
    return undefined;
  }
  if ('value' in ref) {
    if (!sandbox) issue(at, 'literal {value} secrets are only allowed with `sandbox: true`; use {env: VAR_NAME}');
    else if (typeof ref.value === 'string' && ref.value.length >= 16) return { value: ref.value };
    else issue([...at, 'value'], 'must be a string of at least 16 characters');
    return undefined;
  }
  issue(at, 'must be {env: VAR_NAME} (or {value: ...} for a sandbox)');
  return undefined;
}

/** The secret a reference points at, or a message naming the variable that is missing (never a value). */
export function readSecret(ref: CredentialRef, env: NodeJS.ProcessEnv = process.env): Secret | { missing: string } {
  if ('value' in ref) return new Secret(ref.value);
  const v = env[ref.env];
  if (v === undefined || v === '') return { missing: `environment variable ${ref.env} is not set` };
  return new Secret(v);
}
