import axios, { AxiosInstance } from 'axios';
import { AuthSession, AuthStrategy } from './auth';
import { backoffDelay, parseRetryAfter } from './backoff';
import { abortReason, Clock, realClock } from './clock';
import { ConnectorError, ConnectorErrorCode, isConnectorError, VendorError } from './errors';
import { RateLimiter, RateLimitOptions } from './rate-limit';
import { redact, REDACTED, redactUrl } from './redact';
import { ACCEPT_ENCODING, DEADLINE_EXCEEDED, envProxyConfigured, isJsonBody, sendDirect, TransportError } from './transport';

/**
 * The one HTTP layer every connector uses: paths only (no SSRF through vendor-supplied links),
 * a timeout per request, retries with backoff that honour Retry-After, one re-login on an
 * expired session, in-process pacing, redacted logging, and failures as typed ConnectorErrors.
 */

export { redact, redactUrl, REDACTED } from './redact';

export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A response as hooks see it (auth-failure and vendor-error predicates). `data` is parsed JSON when it parses. */
export interface HttpResponseInfo {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  data: unknown;
  method: string;
  /** Request path without query string. */
  path: string;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  data: T;
}

export interface RetryOptions {
  /** Tries in total, first one included. Default 4. */
  maxAttempts?: number;
  /** First backoff ceiling; doubles each retry. Default 250 ms. */
  baseDelayMs?: number;
  /** Largest backoff ceiling. Default 10 s. */
  maxDelayMs?: number;
  /**
   * Longest `Retry-After` we sit out in process. Longer asks fail at once with
   * CONNECTOR_RATE_LIMITED + `retryAfterMs`, so the job queue can park the work instead of a
   * worker sleeping. Default 60 s.
   */
  maxRetryAfterMs?: number;
}

/** What a connector's `classify` hook says about a response it recognises as a failure. */
export interface ResponseClassification {
  code: ConnectorErrorCode;
  retryable?: boolean;
  retryAfterMs?: number;
}

/**
 * One attempt, for a logger. `url`, `requestHeaders` and `requestBody` are redacted when first read
 * (JSON.stringify, spread, property access), from the request's own header and body objects.
 */
export interface HttpLogEntry {
  connector: string;
  method: string;
  /** Path and query, secrets redacted. */
  url: string;
  attempt: number;
  durationMs: number;
  status?: number;
  /** 'ok', a ConnectorErrorCode, 'REAUTH' (session refused, logging in again) or 'ABORTED'. */
  outcome: string;
  retryInMs?: number;
  requestHeaders: Record<string, unknown>;
  requestBody?: unknown;
}

export type HttpLogger = (entry: HttpLogEntry) => void;

export interface HttpClientOptions {
  /** Connector instance name, used in every error and log line. */
  connector: string;
  /** Origin (and optional base path) of the vendor API, e.g. `https://acme.my.salesforce.com`. */
  baseURL: string;
  /** Whole-request deadline (connect to last body byte). Default 15 s. */
  timeoutMs?: number;
  retry?: RetryOptions;
  auth?: AuthStrategy;
  /** Options for a limiter of this client, or a limiter shared by several clients of one connector. */
  rateLimit?: RateLimitOptions | RateLimiter;
  /** Sent with every request (before session and per-request headers). */
  headers?: Record<string, string>;
  /** Default: none, or console.debug JSON lines when JUNCTION_LOG_HTTP=1. */
  logger?: HttpLogger;
  /** Vendor error list from a failed response. Default understands Salesforce, OAuth2 and `{message, errorCode}` bodies. */
  vendorErrors?: (response: HttpResponseInfo) => VendorError[] | undefined;
  /**
   * Say that a response is a failure, or which kind (e.g. Kingdee `IsSuccess: false` in a 200,
   * Salesforce 403 REQUEST_LIMIT_EXCEEDED = rate limited). Return undefined to use the status.
   */
  classify?: (response: HttpResponseInfo) => ResponseClassification | undefined;
  /** Refuse bodies larger than this. Default 64 MiB. */
  maxResponseBytes?: number;
  /** Injected time (tests record the delays asked for). Default: the real clock. */
  clock?: Clock;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * Send plain JSON exchanges straight with node:http (transport.ts) instead of through axios.
   * Default true; false (or JUNCTION_HTTP_TRANSPORT=axios in the environment) sends everything
   * through axios (tests and benchmarks compare the two).
   */
  directTransport?: boolean;
}

export interface HttpRequest {
  method?: HttpMethod;
  /** A path, relative to baseURL (or to its origin with `relativeTo: 'origin'`). Absolute URLs are refused. */
  url: string;
  params?: Record<string, string | number | boolean | null | undefined>;
  data?: unknown;
  headers?: Record<string, string>;
  /** 'json' (default) parses the body when it is JSON and fails 2xx bodies that are not. */
  responseType?: 'json' | 'text' | 'arraybuffer';
  timeoutMs?: number;
  /**
   * May this request be sent twice? Default: true for GET/HEAD/OPTIONS/PUT/DELETE, false for
   * POST/PATCH. Mark POST reads (Kingdee queries) and writes carrying an idempotency key `true`.
   */
  idempotent?: boolean;
  /** false for the login call itself. Default true when the client has an auth strategy. */
  auth?: boolean;
  /**
   * 'origin' resolves a path like `/services/data/v59.0/query/01g...-2000` (Salesforce
   * nextRecordsUrl) against the base URL's origin instead of appending it to its base path.
   */
  relativeTo?: 'base' | 'origin';
  signal?: AbortSignal;
  /** Overrides retry.maxAttempts for this request (1 = let the caller's queue own retries). */
  maxAttempts?: number;
  /** Log the body as "[REDACTED]" (for secrets that are not in named fields). */
  redactBody?: boolean;
}

type RequestOptions = Omit<HttpRequest, 'method' | 'url' | 'data'>;

export interface HttpClient {
  readonly connector: string;
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
  get<T = unknown>(url: string, options?: RequestOptions): Promise<HttpResponse<T>>;
  post<T = unknown>(url: string, data?: unknown, options?: RequestOptions): Promise<HttpResponse<T>>;
  put<T = unknown>(url: string, data?: unknown, options?: RequestOptions): Promise<HttpResponse<T>>;
  patch<T = unknown>(url: string, data?: unknown, options?: RequestOptions): Promise<HttpResponse<T>>;
  delete<T = unknown>(url: string, options?: RequestOptions): Promise<HttpResponse<T>>;
}

const DEFAULTS = {
  timeoutMs: 15_000,
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
  maxResponseBytes: 64 * 1024 * 1024,
};

/** Idempotent by HTTP semantics (RFC 9110 §9.2.2), so safe to resend after a failure. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:|[\\/]{2})/i;

export function defaultHttpLogger(): HttpLogger | undefined {
  if (process.env.JUNCTION_LOG_HTTP !== '1') return undefined;
  return (entry) => console.debug(JSON.stringify({ msg: 'connector http', ...entry }));
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new AxiosHttpClient(options);
}

class AxiosHttpClient implements HttpClient {
  readonly connector: string;
  private readonly baseURL: string;
  private readonly origin: string;
  private readonly axios: AxiosInstance;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly limiter?: RateLimiter;
  private readonly session?: AuthSession;
  private readonly logger?: HttpLogger;
  private readonly retry: Required<RetryOptions>;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  /** Default and client headers by lower-case name, in the order axios would send them. */
  private readonly baseHeaders: Map<string, [string, string]> | undefined;

  constructor(private readonly options: HttpClientOptions) {
    this.connector = options.connector;
    this.baseURL = options.baseURL;
    this.origin = checkBaseUrl(options.connector, options.baseURL);
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.retry = {
      maxAttempts: options.retry?.maxAttempts ?? DEFAULTS.maxAttempts,
      baseDelayMs: options.retry?.baseDelayMs ?? DEFAULTS.baseDelayMs,
      maxDelayMs: options.retry?.maxDelayMs ?? DEFAULTS.maxDelayMs,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
    };
    this.limiter =
      options.rateLimit instanceof RateLimiter
        ? options.rateLimit
        : options.rateLimit
          ? new RateLimiter(options.rateLimit, this.clock)
          : undefined;
    this.session = options.auth ? new AuthSession(options.auth, this.clock) : undefined;
    this.logger = options.logger ?? defaultHttpLogger();
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
    // Proxies from the environment are read once: axios (which honours them) then sends everything.
    this.baseHeaders =
      options.directTransport === false || process.env.JUNCTION_HTTP_TRANSPORT === 'axios' || envProxyConfigured()
        ? undefined
        : mergeHeaders(new Map(), { Accept: 'application/json', 'User-Agent': 'junction-connector', ...options.headers });
    this.axios = axios.create({
      baseURL: options.baseURL,
      allowAbsoluteUrls: false, // SSRF: a vendor-supplied absolute link must never pick the host
      maxRedirects: 0, // nor may a redirect; 3xx becomes CONNECTOR_BAD_RESPONSE
      validateStatus: () => true, // every status is classified below, not by axios
      maxContentLength: this.maxResponseBytes,
      transformResponse: (data: unknown) => data, // parsed here, so an HTML 502 page stays a 502
      headers: { Accept: 'application/json', 'User-Agent': 'junction-connector', ...options.headers },
    });
  }

  get<T>(url: string, o?: RequestOptions) {
    return this.request<T>({ ...o, method: 'GET', url });
  }
  post<T>(url: string, data?: unknown, o?: RequestOptions) {
    return this.request<T>({ ...o, method: 'POST', url, data });
  }
  put<T>(url: string, data?: unknown, o?: RequestOptions) {
    return this.request<T>({ ...o, method: 'PUT', url, data });
  }
  patch<T>(url: string, data?: unknown, o?: RequestOptions) {
    return this.request<T>({ ...o, method: 'PATCH', url, data });
  }
  delete<T>(url: string, o?: RequestOptions) {
    return this.request<T>({ ...o, method: 'DELETE', url });
  }

  async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = req.url.split(/[?#]/)[0];
    const where = { connector: this.connector, method, path };
    const baseURL = this.resolveBase(req, where);
    const maxAttempts = Math.max(1, req.maxAttempts ?? this.retry.maxAttempts);
    const mayResend = req.idempotent ?? IDEMPOTENT_METHODS.has(method);
    const session = req.auth === false ? undefined : this.session;
    let reauthenticated = false;

    for (let attempt = 1; ; ) {
      if (req.signal?.aborted) throw abortReason(req.signal);
      const auth = session ? await this.login(session, where, req.signal) : undefined;
      const headers = { ...auth?.headers, ...req.headers };
      // Hold the rate-limit slot for the exchange only: re-login and backoff happen outside it,
      // so a login or logout sent through this same client can never wait on its own caller.
      const release = this.limiter ? await this.limiter.acquire(req.signal) : undefined;
      const started = this.clock.now();
      const log = (outcome: string, status?: number, retryInMs?: number) =>
        this.log(req, method, headers, { attempt, status, outcome, retryInMs, durationMs: this.clock.now() - started });
      let sent: Awaited<ReturnType<AxiosHttpClient['send']>>;
      try {
        sent = await this.send(req, method, baseURL, headers, where);
      } catch (err) {
        if (req.signal?.aborted) log('ABORTED');
        throw err;
      } finally {
        release?.();
      }

      let error: ConnectorError;
      if ('error' in sent) {
        error = sent.error;
      } else if (auth && session?.isAuthFailure(sent.info)) {
        // Exactly one re-login per request; a second refusal means the credentials are wrong.
        if (!reauthenticated) {
          reauthenticated = true;
          log('REAUTH', sent.info.status);
          await session.expire(auth.generation);
          continue;
        }
        error = this.responseError({ code: 'CONNECTOR_AUTH_FAILED', retryable: false }, sent.info, 'session refused again right after logging in');
      } else {
        const info = sent.info;
        const verdict = this.options.classify?.(info) ?? classifyStatus(info.status);
        if (!verdict) {
          log('ok', info.status);
          return { status: info.status, headers: info.headers, data: info.data as T };
        }
        error = this.responseError(verdict, info);
      }

      const retryIn = this.retryDelay(error, attempt, maxAttempts, mayResend);
      log(error.code, error.status, retryIn);
      if (retryIn === undefined) throw withAttempts(error, attempt);
      await this.clock.sleep(retryIn, req.signal);
      attempt++;
    }
  }

  /** Milliseconds to wait before the next attempt, or undefined to give up now. */
  private retryDelay(error: ConnectorError, attempt: number, maxAttempts: number, mayResend: boolean): number | undefined {
    if (!error.retryable || !mayResend || attempt >= maxAttempts) return undefined;
    if (error.retryAfterMs !== undefined) {
      return error.retryAfterMs <= this.retry.maxRetryAfterMs ? error.retryAfterMs : undefined;
    }
    return backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.random);
  }

  private async login(session: AuthSession, where: Where, signal?: AbortSignal) {
    try {
      return await session.get();
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      // A refused login is an auth failure; an unreachable login server stays UNAVAILABLE/TIMEOUT.
      if (isConnectorError(err) && !['CONNECTOR_REQUEST_REJECTED', 'CONNECTOR_AUTH_FAILED', 'CONNECTOR_BAD_RESPONSE'].includes(err.code)) {
        throw err;
      }
      const detail = isConnectorError(err) ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new ConnectorError({
        ...where,
        code: 'CONNECTOR_AUTH_FAILED',
        status: isConnectorError(err) ? err.status : undefined,
        vendorErrors: isConnectorError(err) ? err.vendorErrors : undefined,
        message: `${where.connector}: login for ${where.method} ${where.path} failed: ${detail}`,
      });
    }
  }

  /** One HTTP exchange. Transport failures come back as `{ error }`; a caller abort is thrown. */
  private async send(
    req: HttpRequest,
    method: string,
    baseURL: string,
    headers: Record<string, string>,
    where: Where,
  ): Promise<{ info: HttpResponseInfo } | { error: ConnectorError }> {
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const responseType = req.responseType ?? 'json';
    const direct = responseType !== 'arraybuffer' && this.directHeaders(method, req.data, headers);
    // The direct path keeps its own deadline timer (no AbortController per request); axios needs a signal.
    const deadline = direct ? undefined : new AbortController();
    const timer = deadline ? setTimeout(() => deadline.abort(), timeoutMs) : undefined;
    const signal = deadline && req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline?.signal;
    try {
      const res = direct
        ? await sendDirect({
            method,
            url: joinUrl(baseURL, req.url),
            params: req.params,
            headers: direct,
            body: req.data === undefined ? undefined : Buffer.from(JSON.stringify(req.data), 'utf8'),
            signal: req.signal,
            timeoutMs,
            maxContentLength: this.maxResponseBytes,
          })
        : await this.axios.request({
            method,
            baseURL,
            url: req.url,
            params: req.params,
            data: req.data,
            headers,
            signal,
            responseType: responseType === 'arraybuffer' ? 'arraybuffer' : 'text',
          });
      const info: HttpResponseInfo = { status: res.status, headers: plainHeaders(res.headers), data: res.data, method, path: where.path };
      if (responseType === 'json') {
        const parsed = parseJson(res.data);
        if (parsed.ok) info.data = parsed.value;
        else if (res.status >= 200 && res.status < 300) {
          return {
            error: new ConnectorError({
              ...where,
              code: 'CONNECTOR_BAD_RESPONSE',
              status: res.status,
              message: `${describe(where)} returned HTTP ${res.status} with a body that is not JSON (content-type ${String(info.headers['content-type'] ?? 'none')})`,
            }),
          };
        }
      }
      return { info };
    } catch (err) {
      if (req.signal?.aborted) throw abortReason(req.signal);
      if (deadline ? deadline.signal.aborted : err instanceof TransportError && err.code === DEADLINE_EXCEEDED) {
        return { error: new ConnectorError({ ...where, code: 'CONNECTOR_TIMEOUT', message: `${describe(where)} got no complete response within ${timeoutMs} ms` }) };
      }
      if (!axios.isAxiosError(err) && !isTransportFailure(err)) throw err;
      // Never keep the AxiosError as `cause`: its config carries the Authorization header.
      const code = (err as { code?: string }).code ?? 'network error';
      // A body cut off part way (the connection reset after the headers) is a network failure, and
      // retried like one; what stays BAD_RESPONSE is an answer refused whole (too big, undecodable).
      if (code === 'ERR_BAD_RESPONSE' && CUT_SHORT.test((err as Error).message)) {
        return { error: new ConnectorError({ ...where, code: 'CONNECTOR_UNAVAILABLE', message: `${describe(where)}: the connection closed before the whole response arrived` }) };
      }
      if (code === 'ERR_BAD_RESPONSE') {
        return { error: new ConnectorError({ ...where, code: 'CONNECTOR_BAD_RESPONSE', message: `${describe(where)}: ${(err as Error).message}` }) };
      }
      if (['ERR_BAD_OPTION', 'ERR_BAD_OPTION_VALUE', 'ERR_INVALID_URL', 'ERR_NOT_SUPPORT'].includes(code)) {
        return { error: new ConnectorError({ ...where, code: 'CONNECTOR_MISCONFIGURED', message: `${describe(where)} could not be sent: ${(err as Error).message}` }) };
      }
      return { error: new ConnectorError({ ...where, code: 'CONNECTOR_UNAVAILABLE', message: `${describe(where)} failed: ${code} ${(err as Error).message}` }) };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The headers axios would send for this request, or undefined when it must go through axios
   * (a body axios would not send as JSON, a header axios would rewrite).
   */
  private directHeaders(method: string, data: unknown, headers: Record<string, string>): Record<string, string> | undefined {
    if (!this.baseHeaders || !isJsonBody(data)) return undefined;
    const all = mergeHeaders(new Map(this.baseHeaders), headers);
    if (!all) return undefined;
    const type = all.get('content-type');
    if (data !== undefined) {
      // axios form-encodes objects sent as forms; JSON is all this path sends.
      if (type && !/json/i.test(type[1])) return undefined;
      if (!type) all.set('content-type', ['Content-Type', 'application/json']);
    } else if (!type && (method === 'POST' || method === 'PUT' || method === 'PATCH')) {
      all.set('content-type', ['Content-Type', 'application/x-www-form-urlencoded']); // axios' default
    }
    if (all.has('content-length')) return undefined;
    if (!all.has('accept-encoding')) all.set('accept-encoding', ['Accept-Encoding', ACCEPT_ENCODING]);
    const out: Record<string, string> = {};
    for (const [name, value] of all.values()) out[name] = value;
    return out;
  }

  private responseError(verdict: ResponseClassification, info: HttpResponseInfo, why?: string): ConnectorError {
    const where = { connector: this.connector, method: info.method, path: info.path };
    const vendorErrors = (this.options.vendorErrors ?? defaultVendorErrors)(info) ?? undefined;
    const retryAfterMs =
      verdict.retryAfterMs ??
      (info.status === 429 || info.status === 503 ? parseRetryAfter(info.headers['retry-after'], this.clock.now()) : undefined);
    const vendorText = vendorErrors?.length
      ? `: ${vendorErrors.map((e) => truncate(e.code ? `${e.code}: ${e.message}` : e.message, 300)).join('; ')}`
      : '';
    return new ConnectorError({
      ...where,
      code: verdict.code,
      retryable: verdict.retryable,
      status: info.status,
      retryAfterMs,
      vendorErrors: vendorErrors?.length ? vendorErrors : undefined,
      message: `${describe(where)} failed with HTTP ${info.status} (${verdict.code})${why ? `, ${why}` : ''}${vendorText}`,
    });
  }

  /** Refuses anything but a path on the configured host (vendor-supplied links included). */
  private resolveBase(req: HttpRequest, where: Where): string {
    const reject = (why: string) =>
      new ConnectorError({ ...where, code: 'CONNECTOR_REQUEST_REJECTED', message: `${where.connector}: refused to send ${where.method} ${redactUrl(req.url)}: ${why}` });
    if (ABSOLUTE_URL.test(req.url) || req.url.includes('\\')) throw reject(`only paths on ${this.origin} are allowed`);
    if (req.relativeTo === 'origin' && !req.url.startsWith('/')) throw reject(`relativeTo 'origin' needs a path starting with '/'`);
    const base = req.relativeTo === 'origin' ? this.origin : this.baseURL;
    // Same joining rule as axios (combineURLs), checked once more after URL parsing.
    const full = `${base.replace(/\/+$/, '')}/${req.url.replace(/^\/+/, '')}`;
    let origin: string | undefined;
    try {
      origin = new URL(full).origin;
    } catch {
      origin = undefined;
    }
    if (origin !== this.origin) throw reject(`it does not resolve to ${this.origin}`);
    return base;
  }

  private log(req: HttpRequest, method: string, headers: Record<string, string>, e: Pick<HttpLogEntry, 'attempt' | 'status' | 'outcome' | 'retryInMs' | 'durationMs'>) {
    if (!this.logger) return;
    const entry: HttpLogEntry = { connector: this.connector, method, url: '', ...e, requestHeaders: {}, requestBody: undefined };
    // Redaction (a deep copy of the body) happens when a field is first read, so a logger that
    // drops the entry (or reads only the outcome) does not pay for it; read, it is redacted as before.
    lazyField(entry, 'url', () => redactUrl(withQuery(req.url, req.params)));
    lazyField(entry, 'requestHeaders', () => redact({ ...this.options.headers, ...headers }));
    lazyField(entry, 'requestBody', () => (req.data === undefined ? undefined : req.redactBody ? REDACTED : redact(req.data)));
    try {
      this.logger(entry);
    } catch {
      // A broken logger must not break the request.
    }
  }
}

/** Replaces `key` (keeping its place among the keys) with a value computed once, on first read. */
function lazyField<K extends keyof HttpLogEntry>(entry: HttpLogEntry, key: K, compute: () => HttpLogEntry[K]): void {
  const settle = (value: HttpLogEntry[K]) => {
    Object.defineProperty(entry, key, { value, writable: true, enumerable: true, configurable: true });
    return value;
  };
  Object.defineProperty(entry, key, { get: () => settle(compute()), set: settle, enumerable: true, configurable: true });
}

/** The request's path and query as the log shows it (before redaction). */
function withQuery(url: string, params: HttpRequest['params']): string {
  const query = params
    ? new URLSearchParams(
        Object.entries(params)
          .filter(([, v]) => v !== undefined && v !== null)
          .map(([k, v]): [string, string] => [k, String(v)]),
      ).toString()
    : '';
  return url + (query ? (url.includes('?') ? '&' : '?') + query : '');
}

interface Where {
  connector: string;
  method: string;
  path: string;
}

/** Headers set in order; a later value wins, the first spelling of a name stays (as AxiosHeaders). Undefined if axios would rewrite one. */
function mergeHeaders(into: Map<string, [string, string]>, headers: Record<string, string> | undefined): Map<string, [string, string]> | undefined {
  if (!headers) return into;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (!HEADER_NAME.test(name) || typeof value !== 'string' || !PLAIN_HEADER_VALUE.test(value)) return undefined;
    const lower = name.toLowerCase();
    const had = into.get(lower);
    into.set(lower, [had ? had[0] : name, value]);
  }
  return into;
}

const HEADER_NAME = /^[-!#$%&'*+.^_`|~0-9A-Za-z]+$/;
/** Printable ASCII without surrounding blanks: what axios sends unchanged. */
const PLAIN_HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** axios' combineURLs (the base keeps its path; the request path is appended). */
function joinUrl(base: string, url: string): string {
  if (!url) return base;
  let end = base.length;
  while (end > 0 && base.charCodeAt(end - 1) === 47) end--;
  return `${base.slice(0, end)}/${url.replace(/^\/+/, '')}`;
}

/** axios' (and the direct transport's) message for a response stream that ended before its body did. */
const CUT_SHORT = /^stream has been aborted$/;

function isTransportFailure(err: unknown): boolean {
  return err instanceof TransportError;
}

function describe(w: Where): string {
  return `${w.connector}: ${w.method} ${w.path}`;
}

/** Default meaning of a status; undefined = success. */
export function classifyStatus(status: number): ResponseClassification | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 401 || status === 403) return { code: 'CONNECTOR_AUTH_FAILED' };
  if (status === 408) return { code: 'CONNECTOR_TIMEOUT' };
  if (status === 409 || status === 412) return { code: 'CONNECTOR_CONFLICT' };
  if (status === 429) return { code: 'CONNECTOR_RATE_LIMITED' };
  if (status === 501) return { code: 'CONNECTOR_REQUEST_REJECTED' }; // not implemented: retrying will not help
  if (status >= 500 && status < 600) return { code: 'CONNECTOR_UNAVAILABLE' };
  if (status >= 400 && status < 500) return { code: 'CONNECTOR_REQUEST_REJECTED' };
  return { code: 'CONNECTOR_BAD_RESPONSE' }; // 1xx/3xx (redirects are not followed) and nonsense
}

/** Salesforce `[{errorCode, message, fields}]`, OAuth2 `{error, error_description}`, `{message, errorCode|code}`. */
export function defaultVendorErrors(response: HttpResponseInfo): VendorError[] | undefined {
  const d = response.data;
  const one = (x: unknown): VendorError | undefined => {
    if (!x || typeof x !== 'object') return undefined;
    const o = x as Record<string, unknown>;
    const code = str(o.errorCode) ?? str(o.error) ?? str(o.code);
    const message = str(o.message) ?? str(o.error_description) ?? str(o.error);
    if (!message) return undefined;
    const fields = Array.isArray(o.fields) ? o.fields.map(String).join(',') : undefined;
    return { ...(code !== undefined ? { code } : {}), message, ...(fields ? { field: fields } : {}) };
  };
  const list = (Array.isArray(d) ? d.map(one) : [one(d)]).filter((e): e is VendorError => e !== undefined);
  return list.length ? list : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function parseJson(body: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof body !== 'string') return { ok: true, value: body };
  if (body.trim() === '') return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}

function plainHeaders(h: unknown): Record<string, string | string[] | undefined> {
  const obj = h && typeof (h as { toJSON?: unknown }).toJSON === 'function' ? (h as { toJSON(): object }).toJSON() : (h as object);
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(obj ?? {})) out[k.toLowerCase()] = Array.isArray(v) ? v.map(String) : v == null ? undefined : String(v);
  return out;
}

function withAttempts(error: ConnectorError, attempts: number): ConnectorError {
  if (attempts <= 1) return error;
  const { code, connector, status, retryAfterMs, vendorErrors, retryable, method, path } = error;
  return new ConnectorError({ code, connector, status, retryAfterMs, vendorErrors, retryable, method, path, message: `${error.message} (after ${attempts} attempts)` });
}

function checkBaseUrl(connector: string, baseURL: string): string {
  let url: URL | undefined;
  try {
    url = new URL(baseURL);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw new ConnectorError({
      connector,
      code: 'CONNECTOR_MISCONFIGURED',
      message: `${connector}: baseURL must be an http(s) URL without credentials, query or fragment, got ${JSON.stringify(redactUrl(baseURL))}`,
    });
  }
  return url.origin;
}
