/**
 * Sender verification, pure functions (unit-tested in verify.test.ts). Every comparison is
 * constant-time over equal-length buffers: both sides are hashed (shared secret) or decoded to the
 * 32 bytes of a SHA-256 MAC first, so neither the content nor the length of the secret leaks
 * through timing. Messages name the header, never the value received or expected.
 */
import { createHash, createHmac, timingSafeEqual } from 'crypto';
import { ErrorCode } from '../errors/codes';
import type { Secret } from '../connectors/secret';
import { webhookError } from './errors';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();

/** Constant-time equality of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** The MAC senders compute: HMAC-SHA256(secret, "<timestamp>.<raw body>"), hex. */
export function signBody(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The 32 bytes of a signature header: hex or base64, optionally prefixed `sha256=`; null otherwise. */
export function decodeSignature(header: string): Buffer | null {
  const v = header.trim().replace(/^sha256=/i, '');
  if (/^[0-9a-f]{64}$/i.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(v)) return Buffer.from(v, 'base64');
  return null;
}

export interface HmacInput {
  secret: Secret;
  body: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  signatureHeader: string;
  timestampHeader: string;
  toleranceSeconds: number;
  now?: number;
}

/** Throws WEBHOOK_UNSIGNED, WEBHOOK_STALE_TIMESTAMP or WEBHOOK_BAD_SIGNATURE; returns on a valid signature. */
export function verifyHmac(i: HmacInput): void {
  if (!i.signature) throw webhookError(ErrorCode.WEBHOOK_UNSIGNED, `Missing signature: send the HMAC-SHA256 of "<timestamp>.<body>" in ${i.signatureHeader}`, { field: i.signatureHeader });
  if (!i.timestamp) throw webhookError(ErrorCode.WEBHOOK_UNSIGNED, `Missing timestamp: send the unix time the request was signed in ${i.timestampHeader}`, { field: i.timestampHeader });
  checkTimestamp(i.timestamp, i.timestampHeader, i.toleranceSeconds, i.now);
  const got = decodeSignature(i.signature);
  if (!got) throw webhookError(ErrorCode.WEBHOOK_BAD_SIGNATURE, `${i.signatureHeader} is not a SHA-256 signature (64 hex digits or base64, optionally after "sha256=")`, { field: i.signatureHeader });
  const want = createHmac('sha256', i.secret.reveal()).update(`${i.timestamp.trim()}.`).update(i.body).digest();
  if (!timingSafeEqual(got, want)) throw webhookError(ErrorCode.WEBHOOK_BAD_SIGNATURE, `${i.signatureHeader} does not match the body and ${i.timestampHeader} for this connector's secret`, { field: i.signatureHeader });
}

/** Throws WEBHOOK_UNSIGNED or WEBHOOK_BAD_SIGNATURE unless `token` is the secret. */
export function verifyToken(secret: Secret, token: string | undefined, where: string): void {
  if (!token) throw webhookError(ErrorCode.WEBHOOK_UNSIGNED, `Missing shared secret: send it in ${where}`, { field: where });
  if (!safeEqual(token, secret.reveal())) throw webhookError(ErrorCode.WEBHOOK_BAD_SIGNATURE, `The shared secret in ${where} is not this connector's`, { field: where });
}

/** Epoch ms of a timestamp header: unix seconds, unix milliseconds, or an ISO 8601 date-time; NaN otherwise. */
export function parseTimestamp(value: string): number {
  const v = value.trim();
  if (/^\d{1,16}$/.test(v)) {
    const n = Number(v);
    return n >= 1e12 ? n : n * 1000;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(v)) return Date.parse(v);
  return NaN;
}

/** Refuses a timestamp outside now ± tolerance (WEBHOOK_STALE_TIMESTAMP), or unreadable (WEBHOOK_UNSIGNED). */
export function checkTimestamp(value: string, header: string, toleranceSeconds: number, now = Date.now()): number {
  const at = parseTimestamp(value);
  if (!Number.isFinite(at)) throw webhookError(ErrorCode.WEBHOOK_UNSIGNED, `${header} must be unix seconds, milliseconds or an ISO 8601 date-time`, { field: header });
  const skew = Math.round((now - at) / 1000);
  if (Math.abs(skew) > toleranceSeconds) {
    throw webhookError(
      ErrorCode.WEBHOOK_STALE_TIMESTAMP,
      `${header} is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'}; requests are accepted within ${toleranceSeconds} s (a replay, or the sender's clock is off)`,
      { field: header },
    );
  }
  return at;
}
