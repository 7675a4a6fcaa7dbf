import { abortReason, Clock, realClock } from './clock';

/**
 * Per-connector request pacing, in process. Vendors meter us per account (Salesforce daily API
 * calls, Kingdee concurrent sessions, ThingsBoard per-tenant rate limits), so one connector
 * instance must not stampede them. Each worker process has its own limiter: divide the vendor's
 * budget by the number of workers when configuring.
 */
export interface RateLimitOptions {
  /** Sustained rate; unset = no pacing. */
  requestsPerSecond?: number;
  /** Requests allowed back to back before pacing starts (token bucket size). Default 1: evenly spaced. */
  burst?: number;
  /** Requests in flight at once; unset = unlimited. */
  maxConcurrent?: number;
}

export class RateLimiter {
  private readonly rate?: number;
  private readonly burst: number;
  private tokens: number;
  private lastRefill: number;
  /** Token takers queue up here so waits are computed one after another (first come, first served). */
  private tokenQueue: Promise<void> = Promise.resolve();

  private readonly maxConcurrent: number;
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    options: RateLimitOptions = {},
    private readonly clock: Clock = realClock,
  ) {
    const { requestsPerSecond, burst, maxConcurrent } = options;
    if (requestsPerSecond !== undefined && !(requestsPerSecond > 0)) throw new RangeError('requestsPerSecond must be > 0');
    if (burst !== undefined && !(burst >= 1)) throw new RangeError('burst must be >= 1');
    if (maxConcurrent !== undefined && !(Number.isInteger(maxConcurrent) && maxConcurrent >= 1)) {
      throw new RangeError('maxConcurrent must be an integer >= 1');
    }
    this.rate = requestsPerSecond;
    this.burst = burst ?? 1;
    this.tokens = this.burst;
    this.lastRefill = clock.now();
    this.maxConcurrent = maxConcurrent ?? Infinity;
  }

  /**
   * Waits for a concurrency slot, then for a token. Returns the function that frees the slot;
   * call it exactly once when the request has finished (success or failure).
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    await this.takeSlot(signal);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiters.shift()?.();
    };
    try {
      await this.takeToken(signal);
      return release;
    } catch (err) {
      release();
      throw err;
    }
  }

  private takeSlot(signal?: AbortSignal): Promise<void> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      // Called synchronously from release(), so no newcomer can slip in between free and grant.
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private takeToken(signal?: AbortSignal): Promise<void> {
    if (this.rate === undefined) return Promise.resolve();
    const turn = this.tokenQueue.then(() => this.waitForToken(this.rate!, signal));
    this.tokenQueue = turn.catch(() => undefined);
    return turn;
  }

  private async waitForToken(rate: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) * rate) / 1000);
      this.lastRefill = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / rate), signal);
    }
  }
}
