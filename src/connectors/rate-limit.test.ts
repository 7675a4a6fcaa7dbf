import { RateLimiter } from './rate-limit';
import { fakeClock } from './test-clock';

describe('RateLimiter', () => {
  it('spaces requests evenly at the configured rate (burst 1)', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ requestsPerSecond: 10 }, clock);
    const t0 = clock.now();
    const grantedAt: number[] = [];
    for (let i = 0; i < 4; i++) {
      (await limiter.acquire())();
      grantedAt.push(clock.now() - t0);
    }
    expect(grantedAt).toEqual([0, 100, 200, 300]);
  });

  it('queues concurrent callers so each waits its own turn', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ requestsPerSecond: 10 }, clock);
    await Promise.all([1, 2, 3, 4].map(async () => (await limiter.acquire())()));
    expect(clock.sleeps).toEqual([100, 100, 100]);
  });

  it('lets a burst through, then paces', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ requestsPerSecond: 4, burst: 3 }, clock);
    for (let i = 0; i < 5; i++) (await limiter.acquire())();
    expect(clock.sleeps).toEqual([250, 250]);
  });

  it('refills while idle, up to the burst size only', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ requestsPerSecond: 2, burst: 2 }, clock);
    (await limiter.acquire())();
    (await limiter.acquire())();
    clock.advance(60_000); // a long pause earns 2 tokens, not 120
    for (let i = 0; i < 3; i++) (await limiter.acquire())();
    expect(clock.sleeps).toEqual([500]);
  });

  it('caps requests in flight and hands the slot on in arrival order', async () => {
    const limiter = new RateLimiter({ maxConcurrent: 2 }, fakeClock());
    const order: string[] = [];
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    const c = limiter.acquire().then((release) => {
      order.push('c');
      return release;
    });
    const d = limiter.acquire().then((release) => {
      order.push('d');
      return release;
    });
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]); // both slots busy
    a();
    await c;
    expect(order).toEqual(['c']);
    b();
    b(); // releasing twice must not free a second slot
    await d;
    expect(order).toEqual(['c', 'd']);
    const e = limiter.acquire().then(() => order.push('e'));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['c', 'd']);
    (await c)();
    await e;
  });

  it('stops waiting when the caller aborts', async () => {
    const limiter = new RateLimiter({ maxConcurrent: 1 }, fakeClock());
    await limiter.acquire();
    const ac = new AbortController();
    const waiting = limiter.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});
