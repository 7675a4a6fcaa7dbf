/**
 * A typed client for the parts of the ThingsBoard REST API Junction uses, and the login strategy
 * the kit's HTTP layer calls. Transport concerns (retries, Retry-After, pacing, the one re-login
 * after a 401, redacted logs) live in `src/connectors/http.ts`; this file knows ThingsBoard's
 * paths, bodies and quirks, and checks every answer's shape before anyone reads it.
 *
 * Shapes (ThingsBoard 3.x CE/PE):
 * - `POST /api/auth/login {username, password}` and `POST /api/auth/token {refreshToken}` answer
 *   `{token, refreshToken, scope?}`; requests carry `X-Authorization: Bearer <token>`.
 * - Errors are `{status, message, errorCode, timestamp}` (errorCode 11 = JWT_TOKEN_EXPIRED,
 *   33 = TOO_MANY_REQUESTS); a few 400s are plain text.
 * - Lists are `PageData` `{data, totalPages, totalElements, hasNext}`, `page` counted from 0.
 * - Latest time series `{key: [{ts, value}]}` (values are strings unless `useStrictDataTypes`);
 *   a requested key that has no value comes back as `[{ts: <server now>, value: null}]`.
 * - Attributes `[{lastUpdateTs, key, value}]`, values typed (JSON attributes as JSON).
 */
import {
  AuthStrategy,
  AuthToken,
  Clock,
  ConnectorError,
  HttpClient,
  HttpResponseInfo,
  isConnectorError,
  Secret,
  VendorError,
} from '../../src/connectors';

/** The customer id ThingsBoard writes on devices that are assigned to no customer. */
export const TB_NULL_UUID = '13814000-1dd2-11b2-8080-808080808080';

/** ThingsboardErrorCode (common/data/.../exception/ThingsboardErrorCode.java). */
export const TB_ERROR_CODES: Readonly<Record<number, string>> = {
  2: 'GENERAL',
  10: 'AUTHENTICATION',
  11: 'JWT_TOKEN_EXPIRED',
  15: 'CREDENTIALS_EXPIRED',
  20: 'PERMISSION_DENIED',
  30: 'INVALID_ARGUMENTS',
  31: 'BAD_REQUEST_PARAMS',
  32: 'ITEM_NOT_FOUND',
  33: 'TOO_MANY_REQUESTS',
  34: 'TOO_MANY_UPDATES',
};

export type TbAttributeScope = 'SERVER_SCOPE' | 'SHARED_SCOPE' | 'CLIENT_SCOPE';
export const TB_ATTRIBUTE_SCOPES: readonly TbAttributeScope[] = ['SERVER_SCOPE', 'SHARED_SCOPE', 'CLIENT_SCOPE'];

export interface TbEntityId {
  entityType: string;
  id: string;
}

/** A device as `GET /api/tenant/devices` lists it. Other fields are kept untouched. */
export interface TbDevice {
  id: TbEntityId;
  createdTime: number;
  name: string;
  type?: string;
  label?: string | null;
  tenantId?: TbEntityId;
  customerId?: TbEntityId;
  deviceProfileId?: TbEntityId;
  additionalInfo?: unknown;
  /** Optimistic-lock counter of the device entity (ThingsBoard 3.6+). */
  version?: number;
  [field: string]: unknown;
}

export interface TbPageData<T> {
  data: T[];
  totalPages: number;
  totalElements: number;
  hasNext: boolean;
}

export interface TbTsValue {
  ts: number;
  value: unknown;
}

/** `{key: [{ts, value}]}`: the newest value first (latest values: exactly one). */
export type TbTimeseries = Record<string, TbTsValue[]>;

/** Key types of an Entity Data Query's `latestValues` / `entityFields`. */
export type TbEntityKeyType = 'ENTITY_FIELD' | 'ATTRIBUTE' | 'CLIENT_ATTRIBUTE' | 'SHARED_ATTRIBUTE' | 'SERVER_ATTRIBUTE' | 'TIME_SERIES';

export interface TbEntityKey {
  type: TbEntityKeyType;
  key: string;
}

/** The part of ThingsBoard's EntityDataQuery the connector sends. */
export interface TbEntityDataQuery {
  entityFilter: { type: 'entityList'; entityType: 'DEVICE'; entityList: string[] } | { type: 'entityType'; entityType: 'DEVICE' };
  pageLink: { pageSize: number; page: number; textSearch?: string; sortOrder?: { key: TbEntityKey; direction: 'ASC' | 'DESC' } };
  entityFields?: TbEntityKey[];
  latestValues?: TbEntityKey[];
  keyFilters?: unknown[];
}

export interface TbEntityData {
  entityId: TbEntityId;
  /** Key type → key → latest value (a string; `{ts: 0, value: ""}` when the key has none). */
  latest?: Partial<Record<TbEntityKeyType, Record<string, TbTsValue>>> | null;
}

export interface TbAttribute {
  lastUpdateTs: number;
  key: string;
  value: unknown;
}

export interface TbUser {
  id: TbEntityId;
  authority: string;
  email?: string;
  tenantId?: TbEntityId;
  customerId?: TbEntityId;
  [field: string]: unknown;
}

export interface DevicePageQuery {
  pageSize: number;
  page: number;
  textSearch?: string;
  /** Device profile name (`type` filter of the tenant list). */
  type?: string;
  /** List a customer's devices (`/api/customer/{id}/devices`) instead of the tenant's. */
  customerId?: string;
  /** Unset = ThingsBoard's default order, `id` ascending (unique, so offset pages are stable). */
  sortProperty?: string;
  sortOrder?: 'ASC' | 'DESC';
}

/** `'*'` = every key the device has (the `keys` parameter is left out). */
export type KeySelection = readonly string[] | '*';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID.test(s);
}

/**
 * Vendor errors from a ThingsBoard failure: `{status, message, errorCode}` with the numeric code
 * named (`JWT_TOKEN_EXPIRED`), or a plain-text body (some 400s). HTML error pages are ignored.
 */
export function thingsboardVendorErrors(response: HttpResponseInfo): VendorError[] | undefined {
  const d = response.data;
  if (d && typeof d === 'object' && !Array.isArray(d)) {
    const o = d as Record<string, unknown>;
    const message = typeof o.message === 'string' && o.message !== '' ? o.message : undefined;
    if (!message) return undefined;
    const n = typeof o.errorCode === 'number' ? o.errorCode : typeof o.errorCode === 'string' ? Number(o.errorCode) : NaN;
    const code = Number.isFinite(n) ? (TB_ERROR_CODES[n] ?? String(n)) : undefined;
    return [{ ...(code ? { code } : {}), message }];
  }
  const type = String(response.headers['content-type'] ?? '');
  if (typeof d === 'string' && d.trim() !== '' && type.startsWith('text/plain')) {
    const text = d.trim();
    return [{ message: text.length > 300 ? `${text.slice(0, 300)}…` : text }];
  }
  return undefined;
}

/**
 * Reads a JWT's claims without verifying it (we are its holder, not its judge): for the expiry
 * and the scopes. Never logs or returns the token.
 */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const json: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When a token lapses on OUR clock: its lifetime (`exp - iat`) from the moment we received it.
 * Reading `exp` as an absolute time would trust that the server's clock and ours agree; the
 * lifetime does not. Undefined when the token does not say (then only a 401 renews it).
 */
export function tokenExpiresAt(token: string, receivedAt: number): number | undefined {
  const c = jwtClaims(token);
  if (!c || typeof c.exp !== 'number') return undefined;
  if (typeof c.iat === 'number' && c.exp > c.iat) return receivedAt + (c.exp - c.iat) * 1000;
  return c.exp * 1000;
}

/** Do not use a refresh token this close to its end; log in instead. */
const REFRESH_SKEW_MS = 60_000;
/** A refused refresh falls back to a full login; an unreachable server does not (login would fail too). */
const LOGIN_AFTER_REFRESH_FAILURE: ReadonlySet<string> = new Set(['CONNECTOR_AUTH_FAILED', 'CONNECTOR_REQUEST_REJECTED', 'CONNECTOR_BAD_RESPONSE']);
/** Scopes of a half-finished login: two-factor authentication is on for this user. */
const MFA_SCOPES: ReadonlySet<string> = new Set(['PRE_VERIFICATION_TOKEN', 'MFA_CONFIGURATION_TOKEN']);

export interface ThingsBoardAuthOptions {
  connector: string;
  username: Secret;
  password: Secret;
  clock: Clock;
  /** The client the login calls go through (sent with `auth: false`). Lazy: it is built after this strategy. */
  http: () => HttpClient;
}

/**
 * ThingsBoard's JWT pair as a kit AuthStrategy. The kit asks for a token when it has none, when
 * the known expiry is near, and once after a 401 (`invalidate()` first). We answer with a refresh
 * (`POST /api/auth/token`) while we hold a live refresh token, and fall back to a full login when
 * the refresh is refused; the kit then retries the refused request exactly once.
 */
export class ThingsBoardAuth implements AuthStrategy {
  private refresh?: { token: string; expiresAt?: number };
  /** How many logins and refreshes were sent (health details, tests). */
  readonly stats = { logins: 0, refreshes: 0 };

  constructor(private readonly options: ThingsBoardAuthOptions) {}

  async getToken(): Promise<AuthToken> {
    const r = this.refresh;
    if (r && (r.expiresAt === undefined || this.options.clock.now() < r.expiresAt - REFRESH_SKEW_MS)) {
      try {
        this.stats.refreshes++;
        return await this.exchange('/api/auth/token', { refreshToken: r.token });
      } catch (err) {
        this.refresh = undefined;
        if (!isConnectorError(err) || !LOGIN_AFTER_REFRESH_FAILURE.has(err.code)) throw err;
      }
    }
    this.stats.logins++;
    return this.exchange('/api/auth/login', { username: this.options.username.reveal(), password: this.options.password.reveal() });
  }

  /** Keeps the refresh token: the renewal after a 401 is a refresh, not a new login. */
  invalidate(): void {}

  /** Forget the session (connector closed). */
  clear(): void {
    this.refresh = undefined;
  }

  private async exchange(path: string, body: Record<string, string>): Promise<AuthToken> {
    const { connector, clock } = this.options;
    // Both calls can be resent safely: neither changes anything on the server.
    const res = await this.options.http().post<unknown>(path, body, { auth: false, idempotent: true });
    const d = res.data as Record<string, unknown> | null;
    const token = d && typeof d === 'object' ? d.token : undefined;
    if (typeof token !== 'string' || token === '') {
      throw new ConnectorError({
        connector,
        code: 'CONNECTOR_BAD_RESPONSE',
        method: 'POST',
        path,
        status: res.status,
        message: `${connector}: POST ${path} answered HTTP ${res.status} without a token (expected {token, refreshToken})`,
      });
    }
    const scopes = jwtClaims(token)?.scopes;
    const scope = typeof d?.scope === 'string' ? d.scope : Array.isArray(scopes) ? scopes.find((s) => MFA_SCOPES.has(String(s))) : undefined;
    if (typeof scope === 'string' && MFA_SCOPES.has(scope)) {
      throw new ConnectorError({
        connector,
        code: 'CONNECTOR_AUTH_FAILED',
        method: 'POST',
        path,
        status: res.status,
        retryable: false,
        message: `${connector}: ThingsBoard asks this user for a second factor (${scope}); use a service account without two-factor authentication`,
      });
    }
    const now = clock.now();
    const refreshToken = d?.refreshToken;
    this.refresh = typeof refreshToken === 'string' && refreshToken !== '' ? { token: refreshToken, expiresAt: tokenExpiresAt(refreshToken, now) } : undefined;
    return { headers: { 'X-Authorization': `Bearer ${token}` }, expiresAt: tokenExpiresAt(token, now) };
  }
}

/**
 * ThingsBoard 4.3+ API keys: `X-Authorization: ApiKey <value>`, no login, no expiry to manage.
 * A refused key is refused again after the kit's one retry, and ends as CONNECTOR_AUTH_FAILED.
 */
export class ThingsBoardApiKeyAuth implements AuthStrategy {
  readonly stats = { logins: 0, refreshes: 0 };
  constructor(private readonly apiKey: Secret) {}
  async getToken(): Promise<AuthToken> {
    return { headers: { 'X-Authorization': `ApiKey ${this.apiKey.reveal()}` } };
  }
}

interface CallOptions {
  signal?: AbortSignal;
  maxAttempts?: number;
}

/** The ThingsBoard endpoints Junction reads (and the one it will write). Every answer is shape-checked. */
export class ThingsBoardClient {
  constructor(
    readonly http: HttpClient,
    readonly connector: string = http.connector,
  ) {}

  /** `GET /api/auth/user`: the cheapest authenticated call (health check). */
  async currentUser(options: CallOptions = {}): Promise<TbUser> {
    const path = '/api/auth/user';
    const res = await this.http.get<unknown>(path, options);
    const u = res.data as TbUser | null;
    if (!u || typeof u !== 'object' || typeof u.authority !== 'string') throw this.badShape('GET', path, 'a user with an authority', res.data);
    return u;
  }

  /** One page of the tenant's (or a customer's) devices. */
  async devicesPage(q: DevicePageQuery, options: CallOptions = {}): Promise<TbPageData<TbDevice>> {
    if (q.customerId !== undefined && !isUuid(q.customerId)) {
      throw new ConnectorError({ connector: this.connector, code: 'CONNECTOR_MISCONFIGURED', message: `${this.connector}: customerId ${JSON.stringify(q.customerId)} is not a UUID` });
    }
    const path = q.customerId ? `/api/customer/${q.customerId}/devices` : '/api/tenant/devices';
    const res = await this.http.get<unknown>(path, {
      ...options,
      params: {
        pageSize: q.pageSize,
        page: q.page,
        textSearch: q.textSearch || undefined,
        type: q.type || undefined,
        sortProperty: q.sortProperty,
        sortOrder: q.sortProperty ? (q.sortOrder ?? 'ASC') : undefined,
      },
    });
    const p = res.data as Partial<TbPageData<unknown>> | null;
    if (!p || typeof p !== 'object' || !Array.isArray(p.data) || typeof p.hasNext !== 'boolean') {
      throw this.badShape('GET', path, `a page {data: [...], hasNext} (page ${q.page})`, res.data);
    }
    p.data.forEach((d, i) => {
      const dev = d as Partial<TbDevice> | null;
      if (!dev || typeof dev !== 'object' || !dev.id || !isUuid(dev.id.id) || typeof dev.name !== 'string') {
        throw this.badShape('GET', path, `devices with {id: {id: <uuid>}, name} (page ${q.page}, item ${i})`, d);
      }
    });
    return {
      data: p.data as TbDevice[],
      hasNext: p.hasNext,
      totalPages: typeof p.totalPages === 'number' ? p.totalPages : NaN,
      totalElements: typeof p.totalElements === 'number' ? p.totalElements : NaN,
    };
  }

  /**
   * `POST /api/entitiesQuery/find` (ThingsBoard's Entity Data Query): one page of entities with
   * the latest values asked for, `latest[keyType][key] = {ts, value}` with `value` a string
   * (`{ts: 0, value: ""}` for a key without data). A read, so it may be resent.
   */
  async findEntityData(query: TbEntityDataQuery, options: CallOptions = {}): Promise<TbPageData<TbEntityData>> {
    const path = '/api/entitiesQuery/find';
    const res = await this.http.post<unknown>(path, query, { ...options, idempotent: true });
    const p = res.data as Partial<TbPageData<unknown>> | null;
    if (!p || typeof p !== 'object' || !Array.isArray(p.data) || typeof p.hasNext !== 'boolean') {
      throw this.badShape('POST', path, `a page {data: [...], hasNext} (page ${query.pageLink.page})`, res.data);
    }
    p.data.forEach((e, i) => {
      const d = e as Partial<TbEntityData> | null;
      const latest = d?.latest;
      const ok =
        !!d &&
        typeof d === 'object' &&
        !!d.entityId &&
        isUuid(d.entityId.id) &&
        (latest === undefined ||
          latest === null ||
          (typeof latest === 'object' &&
            Object.values(latest).every(
              (byKey) => byKey && typeof byKey === 'object' && Object.values(byKey).every((v) => v && typeof v === 'object' && typeof (v as TbTsValue).ts === 'number'),
            )));
      if (!ok) throw this.badShape('POST', path, `entities {entityId: {id: <uuid>}, latest: {<type>: {<key>: {ts, value}}}} (item ${i})`, e);
    });
    return {
      data: p.data as TbEntityData[],
      hasNext: p.hasNext,
      totalPages: typeof p.totalPages === 'number' ? p.totalPages : NaN,
      totalElements: typeof p.totalElements === 'number' ? p.totalElements : NaN,
    };
  }

  /** Latest time-series values of a device. An empty key list sends nothing and answers `{}`. */
  async latestTimeseries(deviceId: string, keys: KeySelection, options: CallOptions & { useStrictDataTypes?: boolean } = {}): Promise<TbTimeseries> {
    if (keys !== '*' && keys.length === 0) return {};
    const path = `/api/plugins/telemetry/DEVICE/${this.deviceId(deviceId)}/values/timeseries`;
    const { useStrictDataTypes, ...call } = options;
    const res = await this.http.get<unknown>(path, {
      ...call,
      params: { keys: keys === '*' ? undefined : keys.join(','), useStrictDataTypes: useStrictDataTypes ? true : undefined },
    });
    const d = res.data;
    if (!d || typeof d !== 'object' || Array.isArray(d)) throw this.badShape('GET', path, 'an object {key: [{ts, value}]}', d);
    for (const [key, list] of Object.entries(d as Record<string, unknown>)) {
      if (!Array.isArray(list) || !list.every((v) => v && typeof v === 'object' && typeof (v as TbTsValue).ts === 'number')) {
        throw this.badShape('GET', path, `[{ts, value}] for key ${JSON.stringify(key)}`, list);
      }
    }
    return d as TbTimeseries;
  }

  /** Attributes of a device, of one scope or (`'ANY'`) of all three merged. */
  async attributes(deviceId: string, scope: TbAttributeScope | 'ANY', keys: KeySelection, options: CallOptions = {}): Promise<TbAttribute[]> {
    if (keys !== '*' && keys.length === 0) return [];
    const base = `/api/plugins/telemetry/DEVICE/${this.deviceId(deviceId)}/values/attributes`;
    const path = scope === 'ANY' ? base : `${base}/${scope}`;
    const res = await this.http.get<unknown>(path, { ...options, params: { keys: keys === '*' ? undefined : keys.join(',') } });
    const d = res.data;
    if (!Array.isArray(d) || !d.every((a) => a && typeof a === 'object' && typeof (a as TbAttribute).key === 'string' && typeof (a as TbAttribute).lastUpdateTs === 'number')) {
      throw this.badShape('GET', path, 'an array [{lastUpdateTs, key, value}]', d);
    }
    return d as TbAttribute[];
  }

  /**
   * Creates or updates device attributes (`POST .../DEVICE/{id}/attributes/{scope}`). Setting the
   * same values twice leaves the same state, so it may be resent. For the write-back issue.
   */
  async saveDeviceAttributes(deviceId: string, scope: 'SERVER_SCOPE' | 'SHARED_SCOPE', values: Record<string, unknown>, options: CallOptions = {}): Promise<void> {
    const path = `/api/plugins/telemetry/DEVICE/${this.deviceId(deviceId)}/attributes/${scope}`;
    await this.http.post(path, values, { ...options, idempotent: true });
  }

  /** Ids go into paths: only UUIDs, so a vendor value can never steer a request elsewhere. */
  private deviceId(id: string): string {
    if (!isUuid(id)) {
      throw new ConnectorError({ connector: this.connector, code: 'CONNECTOR_BAD_RESPONSE', message: `${this.connector}: device id ${JSON.stringify(String(id).slice(0, 80))} is not a UUID` });
    }
    return id.toLowerCase();
  }

  private badShape(method: string, path: string, expected: string, got: unknown): ConnectorError {
    return new ConnectorError({
      connector: this.connector,
      code: 'CONNECTOR_BAD_RESPONSE',
      method,
      path,
      message: `${this.connector}: ${method} ${path} answered something that is not ${expected}: ${preview(got)}`,
    });
  }
}

/** A short, single-line preview of an unexpected value for an error message. */
export function preview(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  s = s.replace(/\s+/g, ' ');
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}
