import type { Clock } from './clock';
import type { HttpResponseInfo } from './http';

/**
 * What a connector tells the HTTP layer about logging in. The strategy only knows how to log in
 * and how to recognise an expired session; caching, sharing one login between concurrent
 * requests and the single retry after re-login live in the HTTP layer (AuthSession below).
 */
export interface AuthStrategy {
  /**
   * Logs in / fetches a token. A string is sent as `Authorization: Bearer <string>`; an object's
   * headers are sent as they are (Kingdee session cookie, ThingsBoard `X-Authorization`).
   * `expiresAt` (epoch ms), when known, makes the client renew a little before it lapses.
   * Use `request({ ..., auth: false })` for the login call itself.
   */
  getToken(): Promise<AuthToken>;
  /** Forget any session the strategy itself keeps; called once before a forced re-login. */
  invalidate?(): void | Promise<void>;
  /**
   * Does this response mean "session expired"? Default: status 401. Salesforce answers 401
   * INVALID_SESSION_ID; Kingdee answers 200 with a session error in the body; so connectors may
   * look at the whole response. Called on every response of a request sent with auth.
   */
  isAuthFailure?(response: HttpResponseInfo): boolean;
}

export type AuthToken = string | { headers: Record<string, string>; expiresAt?: number };

/** Renew this long before a known expiry, so a token does not lapse in flight. */
const EXPIRY_SKEW_MS = 10_000;

interface Session {
  headers: Record<string, string>;
  expiresAt?: number;
  generation: number;
}

export class AuthSession {
  private current?: Session;
  private inflight?: Promise<Session>;
  private generation = 0;

  constructor(
    readonly strategy: AuthStrategy,
    private readonly clock: Clock,
  ) {}

  /** Valid session headers; concurrent callers share one in-flight `getToken()`. */
  get(): Promise<Session> {
    const c = this.current;
    if (c && (c.expiresAt === undefined || this.clock.now() < c.expiresAt - EXPIRY_SKEW_MS)) return Promise.resolve(c);
    if (!this.inflight) {
      this.current = undefined;
      this.inflight = this.strategy
        .getToken()
        .then((token) => {
          this.current = { ...toHeaders(token), generation: ++this.generation };
          return this.current;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  /**
   * The session of `generation` was refused. Drop it unless someone already replaced it, so
   * N requests failing together with the same stale token cause one re-login, not N.
   */
  async expire(generation: number): Promise<void> {
    if (this.current?.generation !== generation) return;
    this.current = undefined;
    await this.strategy.invalidate?.();
  }

  isAuthFailure(response: HttpResponseInfo): boolean {
    return this.strategy.isAuthFailure ? this.strategy.isAuthFailure(response) : response.status === 401;
  }
}

function toHeaders(token: AuthToken): { headers: Record<string, string>; expiresAt?: number } {
  return typeof token === 'string' ? { headers: { Authorization: `Bearer ${token}` } } : token;
}
