/**
 * Secret redaction for anything a connector logs: headers, query strings, bodies.
 * Redaction is by *name* (Authorization, X-Authorization and /pass|secret|token|key|session|sid|cookie|signature/i) (we cannot recognise a secret by its value), so it errs on the side of
 * hiding too much. Bodies that carry secrets positionally (Kingdee's login `parameters: [acct,
 * user, password, lcid]`) cannot be caught by name: send those with `redactBody: true`.
 */

export const REDACTED = '[REDACTED]';

const SENSITIVE_NAME = /pass|secret|token|key|session|sid|cookie|signature|authorization$/i;

/** Values that say themselves they are secret (see secret.ts) are hidden whatever their name. */
export const SECRET_MARK = Symbol.for('junction.secret');

export function isSensitiveName(name: string): boolean {
  return SENSITIVE_NAME.test(name);
}

const MAX_DEPTH = 32;
const FORM_ENCODED = /^[^=&\s{}[\]"]+=[^&\s]*(&[^=&\s]+=[^&\s]*)*$/;

/**
 * A redacted deep copy: every property, header, query parameter or form field whose name looks
 * sensitive becomes "[REDACTED]". Strings holding JSON or form-encoded bodies are parsed, redacted
 * and re-serialised; other strings are returned unchanged. The input is never modified.
 */
export function redact<T>(value: T): T {
  return redactValue(value, 0, new WeakSet()) as T;
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if ((value as Record<symbol, unknown>)[SECRET_MARK]) return REDACTED;
  if (depth >= MAX_DEPTH) return '[Too deep]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    if (Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      return `[binary ${(value as ArrayBuffer).byteLength} bytes]`;
    }
    if (value instanceof URLSearchParams) return redactForm(value.toString());
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
    // Headers-like objects (axios AxiosHeaders) expose toJSON(); plain objects are copied as they are.
    const source =
      typeof (value as { toJSON?: unknown }).toJSON === 'function'
        ? ((value as { toJSON(): unknown }).toJSON() as Record<string, unknown>)
        : (value as Record<string, unknown>);
    if (source === null || typeof source !== 'object') return redactValue(source, depth + 1, seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(source)) {
      out[k] = isSensitiveName(k) && v !== undefined && v !== null ? REDACTED : redactValue(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function redactString(s: string): string {
  const t = s.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.stringify(redact(JSON.parse(t)));
    } catch {
      return s;
    }
  }
  if (FORM_ENCODED.test(t)) return redactForm(t);
  return s;
}

/** `a=1&client_secret=x` → `a=1&client_secret=[REDACTED]` (names kept, encoding kept). */
function redactForm(form: string): string {
  return form
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      return isSensitiveName(safeDecode(pair.slice(0, eq))) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
}

/** Redacts userinfo and sensitive query parameters of a URL or path; the path itself is kept. */
export function redactUrl(url: string): string {
  const hash = url.indexOf('#');
  const noFragment = hash < 0 ? url : url.slice(0, hash);
  const q = noFragment.indexOf('?');
  const base = (q < 0 ? noFragment : noFragment.slice(0, q)).replace(/^([a-z][a-z\d+\-.]*:\/\/)[^/@]*@/i, `$1${REDACTED}@`);
  return q < 0 ? base : `${base}?${redactForm(noFragment.slice(q + 1))}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
