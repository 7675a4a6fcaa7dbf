/**
 * http-json write operations: POST the mapped document with the write's `Idempotency-Key`.
 * The target is expected to remember keys (the sandbox does; so should any system that takes
 * pushes): a key it already applied gets its first answer again, so a retry after
 * a lost answer is harmless without a look-up first (IETF Idempotency-Key draft).
 */
import { ConnectorError, HttpClient, isConnectorError, WriteOperation, WriteResult } from '../../src/connectors';

export interface HttpJsonOptions {
  /** Write operation name → path it POSTs to. `post` is always there. */
  operations: Record<string, { path: string }>;
  healthPath: string;
}

const PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/;

/** Checks `options` (problems are collected, not thrown, so the config error lists them all). */
export function parseHttpJsonOptions(raw: Record<string, unknown>, problems: string[]): HttpJsonOptions {
  const { path, operations, healthPath, ...other } = raw as { path?: unknown; operations?: unknown; healthPath?: unknown };
  for (const k of Object.keys(other)) problems.push(`options.${k}: unknown option (http-json has path, operations, healthPath)`);
  const checkPath = (v: unknown, where: string, fallback: string): string => {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !PATH.test(v)) {
      problems.push(`${where} must be a path starting with / (no host, query or fragment)`);
      return fallback;
    }
    return v;
  };
  const ops: Record<string, { path: string }> = { post: { path: checkPath(path, 'options.path', '/documents') } };
  if (operations !== undefined) {
    if (!operations || typeof operations !== 'object' || Array.isArray(operations)) problems.push('options.operations must map operation names to {path}');
    else {
      for (const [name, op] of Object.entries(operations as Record<string, unknown>)) {
        if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) problems.push(`options.operations.${name}: an operation name is a word (letters, digits, - and _)`);
        else if (name === 'post') problems.push('options.operations.post: set the post operation\'s path with options.path');
        else ops[name] = { path: checkPath((op as { path?: unknown } | null)?.path, `options.operations.${name}.path`, '/') };
      }
    }
  }
  return { operations: ops, healthPath: checkPath(healthPath, 'options.healthPath', '/health') };
}

/** The id the target gave the document, when its answer names one. */
function idOf(data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as Record<string, unknown>;
  const v = d.id ?? d.documentId ?? d.externalId;
  return typeof v === 'string' || typeof v === 'number' ? String(v) : null;
}

export function httpJsonWrites(http: HttpClient, connector: string, options: HttpJsonOptions): Record<string, WriteOperation> {
  const send = (path: string): WriteOperation => async (payload, ctx): Promise<WriteResult> => {
    if (payload === undefined || payload === null || typeof payload !== 'object') {
      throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector, message: `${connector}: POST ${path} needs a JSON object or array from its mapping, got ${payload === null ? 'null' : typeof payload}` });
    }
    try {
      // One attempt: the write-back queue owns retries (backoff, Retry-After, dead letter).
      const res = await http.post(path, payload, {
        headers: { 'Idempotency-Key': ctx.idempotencyKey, 'Content-Type': 'application/json' },
        idempotent: true, maxAttempts: 1, signal: ctx.signal,
      });
      // The IETF Idempotency-Key draft: a repeat of a finished request gets its first answer again;
      // targets that say so (Idempotent-Replayed, as Stripe and others do) mark it a duplicate.
      const replayed = String(res.headers['idempotent-replayed'] ?? '').toLowerCase() === 'true';
      return { externalId: idOf(res.data) ?? ctx.idempotencyKey, ...(replayed ? { duplicate: true } : {}) };
    } catch (e) {
      // 409: the first request with this key is still being processed there: try again later.
      if (isConnectorError(e) && e.code === 'CONNECTOR_CONFLICT' && e.status === 409) {
        throw new ConnectorError({ code: 'CONNECTOR_UNAVAILABLE', connector, message: `${connector}: POST ${path}: the target is still processing Idempotency-Key ${ctx.idempotencyKey} (409); retried later`, status: 409 });
      }
      // 2xx with a body that is not JSON ("OK"): the target took it; it just did not answer in JSON.
      if (isConnectorError(e) && e.code === 'CONNECTOR_BAD_RESPONSE' && e.status !== undefined && e.status >= 200 && e.status < 300) {
        return { externalId: ctx.idempotencyKey };
      }
      throw e;
    }
  };
  return Object.fromEntries(Object.entries(options.operations).map(([name, op]) => [name, send(op.path)]));
}
