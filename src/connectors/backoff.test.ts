import { backoffDelay, parseRetryAfter, RETRY_AFTER_CEILING_MS } from './backoff';

describe('backoffDelay', () => {
  it('doubles the ceiling each retry up to the max, jittered below it', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 100, 1000, top))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 1, 18, 8, 0, 0);
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter(' 30 ', now)).toBe(30_000);
  });
  it('reads an HTTP-date, a past date meaning now', () => {
    expect(parseRetryAfter('Wed, 18 Feb 2026 08:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 18 Feb 2026 07:00:00 GMT', now)).toBe(0);
  });
  it('reads the obsolete date forms RFC 9110 says to accept (RFC 850, asctime)', () => {
    expect(parseRetryAfter('Wednesday, 18-Feb-26 08:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Wed Feb 18 08:00:07 2026', now)).toBe(7000);
  });
  it('caps what no vendor can mean: a wait of years, or of Infinity, is a day', () => {
    expect(parseRetryAfter('99999999999', now)).toBe(RETRY_AFTER_CEILING_MS);
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(RETRY_AFTER_CEILING_MS);
    expect(parseRetryAfter('Fri, 18 Feb 2226 08:00:00 GMT', now)).toBe(RETRY_AFTER_CEILING_MS);
    expect(RETRY_AFTER_CEILING_MS).toBe(86_400_000);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
