import { createHmac } from 'crypto';
import { ErrorCode } from '../errors/codes';
import { Secret } from '../connectors/secret';
import { checkTimestamp, decodeSignature, parseTimestamp, safeEqual, signBody, verifyHmac, verifyToken } from './verify';
import { WebhookError } from './errors';

const SECRET = new Secret('s3cret-0123456789abcdef');
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const TS = String(NOW / 1000);
const BODY = Buffer.from('{"Id":"0015g00000WbHk1AAF","Name":"王芳"}');

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(WebhookError);
    return (e as WebhookError).code;
  }
}

const input = (over: Partial<Parameters<typeof verifyHmac>[0]> = {}) => ({
  secret: SECRET, body: BODY, signature: signBody(SECRET.reveal(), TS, BODY), timestamp: TS,
  signatureHeader: 'X-Junction-Signature', timestampHeader: 'X-Junction-Timestamp', toleranceSeconds: 300, now: NOW, ...over,
});

describe('HMAC-SHA256 signatures', () => {
  it('signs "<timestamp>.<body>" as Apex Crypto.generateMac would (hex)', () => {
    expect(signBody('k', '1', 'b')).toBe(createHmac('sha256', 'k').update('1.b').digest('hex'));
  });

  it('accepts the right signature as hex, with sha256= prefix, upper case or base64', () => {
    const hex = signBody(SECRET.reveal(), TS, BODY);
    for (const signature of [hex, `sha256=${hex}`, hex.toUpperCase(), Buffer.from(hex, 'hex').toString('base64')]) {
      expect(codeOf(() => verifyHmac(input({ signature })))).toBeUndefined();
    }
  });

  it('refuses a missing signature or timestamp as unsigned', () => {
    expect(codeOf(() => verifyHmac(input({ signature: undefined })))).toBe(ErrorCode.WEBHOOK_UNSIGNED);
    expect(codeOf(() => verifyHmac(input({ timestamp: undefined })))).toBe(ErrorCode.WEBHOOK_UNSIGNED);
  });

  it('refuses another secret, a changed body, a changed timestamp and a truncated or garbled signature', () => {
    expect(codeOf(() => verifyHmac(input({ signature: signBody('other-secret', TS, BODY) })))).toBe(ErrorCode.WEBHOOK_BAD_SIGNATURE);
    expect(codeOf(() => verifyHmac(input({ body: Buffer.from(`${BODY} `) })))).toBe(ErrorCode.WEBHOOK_BAD_SIGNATURE);
    expect(codeOf(() => verifyHmac(input({ timestamp: String(NOW / 1000 + 1) })))).toBe(ErrorCode.WEBHOOK_BAD_SIGNATURE);
    expect(codeOf(() => verifyHmac(input({ signature: signBody(SECRET.reveal(), TS, BODY).slice(0, 63) })))).toBe(ErrorCode.WEBHOOK_BAD_SIGNATURE);
    expect(codeOf(() => verifyHmac(input({ signature: 'not a signature' })))).toBe(ErrorCode.WEBHOOK_BAD_SIGNATURE);
  });

  it('refuses a correctly signed request outside the timestamp window, before comparing the signature', () => {
    const old = String(NOW / 1000 - 301);
    expect(codeOf(() => verifyHmac(input({ timestamp: old, signature: signBody(SECRET.reveal(), old, BODY) })))).toBe(ErrorCode.WEBHOOK_STALE_TIMESTAMP);
    const future = String(NOW / 1000 + 301);
    expect(codeOf(() => verifyHmac(input({ timestamp: future, signature: signBody(SECRET.reveal(), future, BODY) })))).toBe(ErrorCode.WEBHOOK_STALE_TIMESTAMP);
  });

  it('never puts the secret or the signature in its messages', () => {
    const signature = signBody('other-secret', TS, BODY);
    try {
      verifyHmac(input({ signature }));
    } catch (e) {
      expect((e as Error).message).not.toContain(signature);
      expect((e as Error).message).not.toContain(SECRET.reveal());
    }
    expect.assertions(2);
  });
});

describe('shared secrets', () => {
  it('accepts only the exact secret, whatever the length of what was sent', () => {
    expect(codeOf(() => verifyToken(SECRET, SECRET.reveal(), 'X-Junction-Token'))).toBeUndefined();
    expect(codeOf(() => verifyToken(SECRET, undefined, 'X-Junction-Token'))).toBe(ErrorCode.WEBHOOK_UNSIGNED);
    for (const guess of ['s', SECRET.reveal().slice(0, -1), `${SECRET.reveal()}x`, SECRET.reveal().toUpperCase()]) {
      expect(codeOf(() => verifyToken(SECRET, guess, 'X-Junction-Token'))).toBe(ErrorCode.WEBHOOK_BAD_SIGNATURE);
    }
  });

  it('safeEqual compares strings of different lengths without throwing', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
  });
});

describe('timestamps', () => {
  it('reads unix seconds, milliseconds and ISO 8601', () => {
    expect(parseTimestamp(TS)).toBe(NOW);
    expect(parseTimestamp(String(NOW))).toBe(NOW);
    expect(parseTimestamp('2026-11-23T12:00:00Z')).toBe(NOW);
    expect(parseTimestamp('yesterday')).toBeNaN();
  });

  it('accepts the edges of the window and refuses one second beyond', () => {
    expect(checkTimestamp(String(NOW / 1000 - 300), 'T', 300, NOW)).toBe(NOW - 300_000);
    expect(codeOf(() => checkTimestamp(String(NOW / 1000 - 301), 'T', 300, NOW))).toBe(ErrorCode.WEBHOOK_STALE_TIMESTAMP);
    expect(codeOf(() => checkTimestamp('soon', 'T', 300, NOW))).toBe(ErrorCode.WEBHOOK_UNSIGNED);
  });
});

describe('decodeSignature', () => {
  it('gives the 32 MAC bytes or null', () => {
    expect(decodeSignature('ab'.repeat(32))).toHaveLength(32);
    expect(decodeSignature('ab'.repeat(31))).toBeNull();
    expect(decodeSignature('sha1=' + 'ab'.repeat(32))).toBeNull();
  });
});
