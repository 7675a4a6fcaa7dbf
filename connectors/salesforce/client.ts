/**
 * Typed Salesforce REST client on the connector kit's HTTP layer: OAuth 2.0 login
 * (client_credentials or password), SOQL query + query-more paging, the version probe used by
 * the health check, and the single-record writes the write-back issue will build on.
 *
 * Paths only, never vendor URLs: `instance_url` from the token response is used only when its
 * origin is the configured base or one the config allows; `nextRecordsUrl` must be a query path.
 */
import {
  AuthStrategy,
  ConnectorDeps,
  ConnectorError,
  ConnectorErrorCode,
  HttpClient,
  HttpResponseInfo,
  isConnectorError,
  ResponseClassification,
  Secret,
} from '../../src/connectors';

export const DEFAULT_API_VERSION = '59.0';
export const TOKEN_PATH = '/services/oauth2/token';

/** Salesforce accepts query batch sizes from 200 to 2,000 (Sforce-Query-Options). */
export const MIN_BATCH_SIZE = 200;
export const MAX_BATCH_SIZE = 2000;

export type GrantType = 'client_credentials' | 'password';

export interface SalesforceRecord {
  attributes?: { type: string; url: string };
  Id: string;
  [field: string]: unknown;
}

export interface QueryResult<T extends SalesforceRecord = SalesforceRecord> {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: T[];
}

/** A query batch and the server's clock when it answered (HTTP Date header, epoch ms), when sent. */
export type QueryPage<T extends SalesforceRecord = SalesforceRecord> = QueryResult<T> & { serverTime?: number };

/** What `POST /sobjects/<Type>/` answers. */
export interface SaveResult {
  id: string;
  success: boolean;
  errors: unknown[];
}

export interface TokenResponse {
  access_token: string;
  instance_url?: string;
  id?: string;
  token_type?: string;
  issued_at?: string;
  signature?: string;
  scope?: string;
}

export interface SalesforceCredentials {
  clientId: Secret;
  clientSecret: Secret;
  username?: Secret;
  password?: Secret;
  /** Appended to the password (password grant from an untrusted IP range). */
  securityToken?: Secret;
}

export interface SalesforceClientOptions {
  /** Connector instance name (errors, logs). */
  connector: string;
  /** The org's API host, e.g. https://acme.my.salesforce.com. */
  baseUrl: string;
  /** '59.0' (no leading v). */
  apiVersion: string;
  grantType: GrantType;
  credentials: SalesforceCredentials;
  /** Token endpoint host when it is not baseUrl (e.g. https://login.salesforce.com for the password grant). */
  loginUrl?: string;
  /** Origins besides baseUrl that a token's `instance_url` may switch API calls to. */
  allowedInstanceOrigins?: string[];
  /**
   * How long to park work after the org's daily API quota ran out (403 REQUEST_LIMIT_EXCEEDED,
   * "TotalRequests Limit exceeded"). Longer than the kit's maxRetryAfterMs, so the job queue
   * parks the sync instead of a worker sleeping. Default 15 minutes.
   */
  requestLimitRetryAfterMs?: number;
  http: ConnectorDeps['http'];
}

export interface RequestControl {
  signal?: AbortSignal;
  maxAttempts?: number;
}

const DEFAULT_REQUEST_LIMIT_RETRY_AFTER_MS = 15 * 60_000;
/** `nextRecordsUrl` as Salesforce writes it: /services/data/v59.0/query/01gD0000002HU6KIAW-2000 */
const NEXT_RECORDS_PATH = /^\/services\/data\/v\d+\.\d+\/query(?:All)?\/[A-Za-z0-9]+-\d+$/;
const SOBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

interface Session {
  accessToken: string;
  /** Origin API calls go to: the base, or an allowed instance_url. */
  origin: string;
  /** instance_url the token response named when it was not allowed (for the health check). */
  ignoredInstanceUrl?: string;
}

/**
 * Logs in and remembers the session; the kit's AuthSession owns re-login (one per request) and
 * calls invalidate() first. Concurrent logins share one token request.
 */
export class SalesforceOAuth implements AuthStrategy {
  private session?: Session;
  private inflight?: Promise<Session>;
  private readonly baseOrigin: string;
  private readonly allowed: Set<string>;

  constructor(
    private readonly options: Pick<SalesforceClientOptions, 'connector' | 'baseUrl' | 'grantType' | 'credentials' | 'allowedInstanceOrigins'>,
    private readonly loginHttp: HttpClient,
  ) {
    this.baseOrigin = new URL(options.baseUrl).origin;
    this.allowed = new Set([this.baseOrigin, ...(options.allowedInstanceOrigins ?? [])]);
  }

  async getToken(): Promise<string> {
    return (await this.login()).accessToken;
  }

  invalidate(): void {
    this.session = undefined;
  }

  /** Salesforce answers an expired or revoked session with 401 `[{errorCode: "INVALID_SESSION_ID"}]`. */
  isAuthFailure(response: HttpResponseInfo): boolean {
    return response.status === 401 || salesforceErrors(response.data).some((e) => e.errorCode === 'INVALID_SESSION_ID');
  }

  /** The current session, logging in when there is none. */
  login(): Promise<Session> {
    if (this.session) return Promise.resolve(this.session);
    if (!this.inflight) {
      this.inflight = this.requestToken()
        .then((s) => {
          this.session = s;
          return s;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  current(): Session | undefined {
    return this.session;
  }

  private async requestToken(): Promise<Session> {
    const { credentials: c, grantType } = this.options;
    const form = new URLSearchParams({ grant_type: grantType, client_id: c.clientId.reveal(), client_secret: c.clientSecret.reveal() });
    if (grantType === 'password') {
      form.set('username', c.username?.reveal() ?? '');
      form.set('password', (c.password?.reveal() ?? '') + (c.securityToken?.reveal() ?? ''));
    }
    const res = await this.loginHttp.post<unknown>(TOKEN_PATH, form.toString(), {
      auth: false,
      // A token request has no side effect worth protecting: resending it after a 503 is safe.
      idempotent: true,
      redactBody: true,
      relativeTo: 'origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const body = res.data as Partial<TokenResponse> | null;
    if (!body || typeof body !== 'object' || typeof body.access_token !== 'string' || body.access_token === '') {
      throw new ConnectorError({
        code: 'CONNECTOR_BAD_RESPONSE',
        connector: this.options.connector,
        method: 'POST',
        path: TOKEN_PATH,
        status: res.status,
        message: `${this.options.connector}: POST ${TOKEN_PATH} answered HTTP ${res.status} without an access_token`,
      });
    }
    const session: Session = { accessToken: body.access_token, origin: this.baseOrigin };
    if (typeof body.instance_url === 'string' && body.instance_url !== '') {
      const origin = originOf(body.instance_url);
      // Never let the token response pick the host we send the bearer token to.
      if (origin && this.allowed.has(origin)) session.origin = origin;
      else session.ignoredInstanceUrl = body.instance_url;
    }
    return session;
  }
}

export class SalesforceClient {
  readonly connector: string;
  readonly apiVersion: string;
  readonly auth: SalesforceOAuth;
  private readonly baseOrigin: string;
  private readonly clients = new Map<string, HttpClient>();
  private readonly switchable: boolean;

  constructor(private readonly options: SalesforceClientOptions) {
    this.connector = options.connector;
    this.apiVersion = options.apiVersion;
    this.baseOrigin = new URL(options.baseUrl).origin;
    const loginHttp = options.http({ baseURL: options.loginUrl ?? options.baseUrl });
    this.auth = new SalesforceOAuth(options, loginHttp);
    this.switchable = (options.allowedInstanceOrigins ?? []).some((o) => o !== this.baseOrigin);
    this.clients.set(this.baseOrigin, this.createApiClient(options.baseUrl));
  }

  /** `/services/data/v59.0` */
  get dataPath(): string {
    return `/services/data/v${this.apiVersion}`;
  }

  /** Where API calls go now (base origin until a login named an allowed instance). */
  instanceOrigin(): string {
    return this.auth.current()?.origin ?? this.baseOrigin;
  }

  ignoredInstanceUrl(): string | undefined {
    return this.auth.current()?.ignoredInstanceUrl;
  }

  /** Resources by Version (`GET /services/data/vXX.X/`): authenticated, cheap, proves the version exists. */
  async versionResources(ctl: RequestControl = {}): Promise<Record<string, string>> {
    const path = `${this.dataPath}/`;
    const res = await (await this.api()).get<unknown>(path, { ...ctl, relativeTo: 'origin' });
    if (!res.data || typeof res.data !== 'object' || Array.isArray(res.data)) {
      throw this.badResponse('GET', path, res.status, 'is not the map of resources Salesforce lists for an API version');
    }
    return res.data as Record<string, string>;
  }

  /** First batch of a SOQL query. `batchSize` is clamped to 200–2,000 (Salesforce may still send fewer). */
  async query<T extends SalesforceRecord = SalesforceRecord>(soql: string, opts: RequestControl & { batchSize?: number } = {}): Promise<QueryPage<T>> {
    const path = `${this.dataPath}/query`;
    const headers = opts.batchSize ? { 'Sforce-Query-Options': `batchSize=${clampBatchSize(opts.batchSize)}` } : undefined;
    const res = await (await this.api()).get<unknown>(path, { params: { q: soql }, headers, signal: opts.signal, maxAttempts: opts.maxAttempts, relativeTo: 'origin' });
    return { ...this.queryResult<T>(res.data, 'GET', path, res.status), serverTime: serverTime(res.headers) };
  }

  /** The next batch: `nextRecordsUrl` must be a query path on the instance (it carries no parameters). */
  async queryMore<T extends SalesforceRecord = SalesforceRecord>(nextRecordsUrl: string, opts: RequestControl = {}): Promise<QueryPage<T>> {
    if (!NEXT_RECORDS_PATH.test(nextRecordsUrl)) {
      throw this.badResponse('GET', `${this.dataPath}/query`, 200, `named nextRecordsUrl ${JSON.stringify(nextRecordsUrl.slice(0, 200))}, which is not a query path on the instance`);
    }
    const res = await (await this.api()).get<unknown>(nextRecordsUrl, { ...opts, relativeTo: 'origin' });
    return { ...this.queryResult<T>(res.data, 'GET', nextRecordsUrl, res.status), serverTime: serverTime(res.headers) };
  }

  async getRecord<T extends SalesforceRecord = SalesforceRecord>(sobject: string, id: string, fields?: string[], ctl: RequestControl = {}): Promise<T> {
    const path = this.recordPath(sobject, id);
    const res = await (await this.api()).get<unknown>(path, { ...ctl, params: fields?.length ? { fields: fields.join(',') } : undefined, relativeTo: 'origin' });
    const rec = res.data as T | null;
    if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw this.badResponse('GET', path, res.status, 'is not a record');
    return rec;
  }

  /**
   * `POST /sobjects/<Type>/`. Not resent after a failure unless the caller says so: a create that
   * timed out may have happened (write-back should upsert by an external id for idempotency).
   */
  async createRecord(sobject: string, body: Record<string, unknown>, ctl: RequestControl & { idempotent?: boolean } = {}): Promise<SaveResult> {
    const path = `${this.sobjectPath(sobject)}/`;
    const res = await (await this.api()).post<unknown>(path, body, { ...ctl, relativeTo: 'origin', headers: { 'Content-Type': 'application/json' } });
    const out = res.data as SaveResult | null;
    if (!out || typeof out !== 'object' || typeof out.id !== 'string' || out.success !== true) {
      throw this.badResponse('POST', path, res.status, 'did not confirm the record was created');
    }
    return out;
  }

  /**
   * `PATCH /sobjects/<Type>/<Id>` (204). Setting the same values twice is harmless, so it is resent
   * after failures. `ifUnmodifiedSince` makes Salesforce refuse (412 → CONNECTOR_CONFLICT) when the
   * record changed after that instant.
   */
  async updateRecord(sobject: string, id: string, body: Record<string, unknown>, ctl: RequestControl & { ifUnmodifiedSince?: Date } = {}): Promise<void> {
    const path = this.recordPath(sobject, id);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (ctl.ifUnmodifiedSince) headers['If-Unmodified-Since'] = ctl.ifUnmodifiedSince.toUTCString();
    await (await this.api()).patch(path, body, { signal: ctl.signal, maxAttempts: ctl.maxAttempts, idempotent: true, relativeTo: 'origin', headers });
  }

  /** Salesforce answers that this connector treats differently from the plain status code. */
  classify(info: HttpResponseInfo): ResponseClassification | undefined {
    if (info.status < 400) return undefined;
    const errors = salesforceErrors(info.data);
    if (errors.some((e) => e.errorCode === 'REQUEST_LIMIT_EXCEEDED')) {
      // The daily org quota ("TotalRequests Limit exceeded.") does not come back in seconds: park the
      // work. Concurrency limits (ConcurrentPerOrgLongTxn ...) clear quickly: back off and retry.
      const daily = errors.some((e) => /TotalRequests/i.test(e.message ?? ''));
      return daily
        ? { code: 'CONNECTOR_RATE_LIMITED', retryable: true, retryAfterMs: this.options.requestLimitRetryAfterMs ?? DEFAULT_REQUEST_LIMIT_RETRY_AFTER_MS }
        : { code: 'CONNECTOR_RATE_LIMITED', retryable: true };
    }
    // Another transaction holds the row (routine: creating a Task locks its Account; other
    // integrations, data loads). Nothing was written: try again later, never dead-letter it.
    if (errors.some((e) => e.errorCode === 'UNABLE_TO_LOCK_ROW')) return { code: 'CONNECTOR_UNAVAILABLE', retryable: true };
    return undefined;
  }

  private createApiClient(baseURL: string): HttpClient {
    return this.options.http({ baseURL, auth: this.auth, classify: (info) => this.classify(info) });
  }

  /** The client for the current instance; logs in first only when an instance switch is possible. */
  private async api(): Promise<HttpClient> {
    if (!this.switchable) return this.clients.get(this.baseOrigin)!;
    let origin: string;
    try {
      origin = (await this.auth.login()).origin;
    } catch (err) {
      throw loginFailed(this.connector, err);
    }
    let client = this.clients.get(origin);
    if (!client) {
      client = this.createApiClient(origin);
      this.clients.set(origin, client);
    }
    return client;
  }

  private sobjectPath(sobject: string): string {
    if (!SOBJECT_NAME.test(sobject)) {
      throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector: this.connector, message: `${this.connector}: ${JSON.stringify(sobject)} is not an sObject name` });
    }
    return `${this.dataPath}/sobjects/${sobject}`;
  }

  private recordPath(sobject: string, id: string): string {
    if (!RECORD_ID.test(id)) {
      throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector: this.connector, message: `${this.connector}: ${JSON.stringify(id)} is not a Salesforce record id` });
    }
    return `${this.sobjectPath(sobject)}/${id}`;
  }

  private queryResult<T extends SalesforceRecord>(data: unknown, method: string, path: string, status: number): QueryResult<T> {
    const d = data as Partial<QueryResult<T>> | null;
    if (!d || typeof d !== 'object' || Array.isArray(d) || typeof d.done !== 'boolean' || !Array.isArray(d.records)) {
      throw this.badResponse(method, path, status, 'is not a query result ({totalSize, done, records})');
    }
    if (d.nextRecordsUrl !== undefined && d.nextRecordsUrl !== null && typeof d.nextRecordsUrl !== 'string') {
      throw this.badResponse(method, path, status, 'has a nextRecordsUrl that is not a string');
    }
    d.records.forEach((r, i) => {
      if (!r || typeof r !== 'object' || typeof (r as SalesforceRecord).Id !== 'string' || (r as SalesforceRecord).Id === '') {
        throw this.badResponse(method, path, status, `has records[${i}] without an Id`);
      }
    });
    return { totalSize: typeof d.totalSize === 'number' ? d.totalSize : d.records.length, done: d.done, nextRecordsUrl: d.nextRecordsUrl ?? undefined, records: d.records };
  }

  badResponse(method: string, path: string, status: number | undefined, what: string): ConnectorError {
    const p = path.split('?')[0];
    return new ConnectorError({
      code: 'CONNECTOR_BAD_RESPONSE',
      connector: this.connector,
      method,
      path: p,
      status,
      message: `${this.connector}: ${method} ${p} answered a body that ${what}`,
    });
  }
}

export function clampBatchSize(n: number): number {
  return Math.min(MAX_BATCH_SIZE, Math.max(MIN_BATCH_SIZE, Math.floor(n)));
}

/** Salesforce REST error bodies: `[{ "message": "...", "errorCode": "...", "fields": [...] }]`. */
export function salesforceErrors(data: unknown): Array<{ errorCode?: string; message?: string }> {
  if (!Array.isArray(data)) return [];
  return data.filter((e): e is { errorCode?: string; message?: string } => !!e && typeof e === 'object');
}

function serverTime(headers: Record<string, string | string[] | undefined>): number | undefined {
  const d = headers.date;
  const ms = typeof d === 'string' ? Date.parse(d) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return /^https?:$/.test(u.protocol) ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Same wording and codes as the kit uses for a failed login inside a request. */
function loginFailed(connector: string, err: unknown): unknown {
  if (!isConnectorError(err)) return err;
  const refused: ConnectorErrorCode[] = ['CONNECTOR_REQUEST_REJECTED', 'CONNECTOR_AUTH_FAILED', 'CONNECTOR_BAD_RESPONSE'];
  if (!refused.includes(err.code)) return err;
  return new ConnectorError({
    code: 'CONNECTOR_AUTH_FAILED',
    connector,
    method: 'POST',
    path: TOKEN_PATH,
    status: err.status,
    vendorErrors: err.vendorErrors,
    message: `${connector}: login failed: ${err.message}`,
  });
}
