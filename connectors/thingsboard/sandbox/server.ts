/**
 * A local stand-in for a ThingsBoard tenant, speaking the REST API shapes the connector uses:
 * JWT login and refresh (tokens that really expire), the paged device list (tenant and customer),
 * latest time series (strings unless `useStrictDataTypes`, `[{ts: now, value: null}]` for a
 * requested key without data, as ThingsBoard answers), attributes per scope, saving attributes,
 * the Entity Data Query (`POST /api/entitiesQuery/find`: entity list or type, latest attributes and
 * time series as strings), and ThingsBoard's error bodies `{status, message, errorCode, timestamp}`.
 *
 * For the demo and end-to-end tests. `control` injects failures (5xx, 429 with Retry-After,
 * malformed bodies, slowness), expires tokens and changes device values.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'crypto';
import { createServer, IncomingMessage, ServerResponse } from 'http';
import { readSandboxBody } from '../../../src/connectors/sandbox-body';
import type { AddressInfo } from 'net';
import { TB_ATTRIBUTE_SCOPES, TbAttributeScope } from '../client';
import { EffectCounter } from '../../../src/connectors/sandbox-effects';
import { buildThingsBoardSandboxData, SandboxDevice, SandboxUser, SandboxValue, ThingsBoardSandboxData } from './data';

export interface ThingsBoardSandboxOptions {
  /** 0 (default) = a free port. */
  port?: number;
  host?: string;
  /** The tenant to serve (deep-copied). Default: buildThingsBoardSandboxData({ scale }). */
  data?: ThingsBoardSandboxData;
  /** Extra synthetic devices when `data` is not given. */
  scale?: number;
  /** The sandbox's clock (token issue/expiry, timestamps of writes). Default Date.now. */
  now?: () => number;
  /** Access token lifetime. Default 9000 s (ThingsBoard's 2.5 h). */
  tokenTtlSeconds?: number;
  /** Refresh token lifetime. Default 604800 s (one week). */
  refreshTtlSeconds?: number;
}

export interface InjectOptions {
  /** Only requests whose path (no query) contains this string or matches this pattern. */
  path?: string | RegExp;
  method?: string;
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
}

export interface SandboxRequestLog {
  method: string;
  path: string;
  query: string;
  status: number;
}

export interface SandboxStats {
  logins: number;
  refreshes: number;
  failedLogins: number;
  requests: SandboxRequestLog[];
  inFlight: number;
  maxInFlight: number;
}

export interface SandboxControl {
  /** The next `count` matching requests fail with `status` (ThingsBoard bodies; 429 says TOO_MANY_REQUESTS). */
  failNext(count: number, status: number, options?: InjectOptions): void;
  /** The next `count` matching requests get HTTP 200 with a truncated JSON body. */
  malformedNext(count: number, options?: InjectOptions): void;
  /** The next `count` matching requests are answered after `ms`. */
  slowNext(count: number, ms: number, options?: InjectOptions): void;
  /** Every access token issued so far is expired from now on (401 "Token has expired", errorCode 11). */
  expireTokens(): void;
  /** Every refresh token issued so far is expired too (a refresh gets 401 errorCode 11). */
  expireRefreshTokens(): void;
  /** Writes latest time-series values (ts default: the sandbox clock). */
  setTelemetry(deviceId: string, values: Record<string, unknown>, ts?: number): void;
  /** Writes attributes of one scope (lastUpdateTs default: the sandbox clock). */
  setAttributes(deviceId: string, scope: TbAttributeScope, values: Record<string, unknown>, ts?: number): void;
  addDevice(device: SandboxDevice): void;
  removeDevice(deviceId: string): void;
  device(deviceId: string): SandboxDevice | undefined;
  /** The served devices, in list order. */
  devices(): SandboxDevice[];
  readonly stats: SandboxStats;
  resetStats(): void;
  /** Drops every pending injection. */
  clearInjections(): void;
  /** Attribute saves counted by the `key` inside their object values; also `GET /__sandbox/effects`. */
  readonly effects: EffectCounter;
  /** The next `count` matching requests are carried out, then the connection is cut before the answer. */
  loseResponseNext(count: number, options?: InjectOptions): void;
}

export interface ThingsBoardSandbox {
  url: string;
  control: SandboxControl;
  close(): Promise<void>;
}

interface Injection {
  kind: 'fail' | 'malformed' | 'slow' | 'lose';
  remaining: number;
  status?: number;
  ms?: number;
  options: InjectOptions;
}

interface Claims {
  sub: string;
  userId: string;
  scopes: string[];
  sessionId: string;
  iss: string;
  iat: number;
  exp: number;
  /** Sandbox-only: generation, so control can expire every token issued so far. */
  gen: number;
  [k: string]: unknown;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode: number,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY = 1024 * 1024;
const MAX_LOG = 20_000;

export async function startThingsBoardSandbox(options: ThingsBoardSandboxOptions = {}): Promise<ThingsBoardSandbox> {
  const data: ThingsBoardSandboxData = structuredClone(options.data ?? buildThingsBoardSandboxData({ scale: options.scale }));
  const now = options.now ?? (() => Date.now());
  const tokenTtl = options.tokenTtlSeconds ?? 9000;
  const refreshTtl = options.refreshTtlSeconds ?? 604_800;
  const secret = randomBytes(32);
  const byId = new Map(data.devices.map((d) => [d.device.id.id.toLowerCase(), d]));
  let accessGen = 1;
  let refreshGen = 1;
  let sessions = 0;
  let injections: Injection[] = [];
  const effects = new EffectCounter();
  const timers = new Set<NodeJS.Timeout>();
  const stats: SandboxStats = { logins: 0, refreshes: 0, failedLogins: 0, requests: [], inFlight: 0, maxInFlight: 0 };

  // --- JWT (HS512, like ThingsBoard) --------------------------------------------------------
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const sign = (claims: Claims) => {
    const head = `${b64({ alg: 'HS512' })}.${b64(claims)}`;
    return `${head}.${createHmac('sha512', secret).update(head).digest('base64url')}`;
  };
  const verify = (token: string): Claims | undefined => {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = createHmac('sha512', secret).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2], 'base64url');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Claims;
    } catch {
      return undefined;
    }
  };
  const issue = (user: SandboxUser, sessionId: string) => {
    const iat = Math.floor(now() / 1000);
    const common = { sub: user.username, userId: user.userId, sessionId, iss: 'thingsboard.io', iat, isPublic: false };
    return {
      token: sign({
        ...common,
        scopes: [user.authority],
        exp: iat + tokenTtl,
        enabled: true,
        firstName: user.firstName ?? null,
        tenantId: data.tenantId,
        customerId: user.customerId,
        gen: accessGen,
      }),
      refreshToken: sign({ ...common, scopes: ['REFRESH_TOKEN'], jti: randomBytes(8).toString('hex'), exp: iat + refreshTtl, gen: refreshGen }),
    };
  };
  const expired = (c: Claims, gen: number) => Math.floor(now() / 1000) >= c.exp || c.gen < gen;
  const authFailed = () => new HttpError(401, 'Authentication failed', 10);
  const tokenExpired = () => new HttpError(401, 'Token has expired', 11);

  const authenticate = (req: IncomingMessage): SandboxUser => {
    const header = req.headers['x-authorization'];
    const m = typeof header === 'string' ? /^Bearer (.+)$/.exec(header) : null;
    if (!m) throw authFailed();
    const claims = verify(m[1]);
    if (!claims || claims.scopes.includes('REFRESH_TOKEN')) throw authFailed();
    if (expired(claims, accessGen)) throw tokenExpired();
    const user = data.users.find((u) => u.userId === claims.userId);
    if (!user) throw authFailed();
    return user;
  };

  // --- routes ------------------------------------------------------------------------------
  const deviceOr404 = (id: string): SandboxDevice => {
    if (!UUID.test(id)) throw new HttpError(400, `Invalid UUID string: ${id}`, 31);
    const d = byId.get(id.toLowerCase());
    if (!d) throw new HttpError(404, `Device with id [${id}] is not found`, 32);
    return d;
  };
  const keysOf = (q: URLSearchParams): string[] | undefined => {
    const k = q.get('keys');
    return k ? k.split(',') : undefined;
  };
  const asString = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));

  const listDevices = (q: URLSearchParams, customerId?: string) => {
    const rawSize = q.get('pageSize');
    const pageSize = Number(rawSize);
    if (rawSize === null) throw new HttpError(400, "Required request parameter 'pageSize' for method parameter type int is not present", 31);
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new HttpError(400, 'Page size must be greater than zero!', 31);
    const page = Number(q.get('page') ?? '0');
    if (!Number.isInteger(page) || page < 0) throw new HttpError(400, 'Incorrect page link page parameter', 31);
    const text = (q.get('textSearch') ?? '').toLowerCase();
    const type = q.get('type');
    let list = data.devices.filter(
      (d) =>
        (!customerId || d.device.customerId?.id === customerId) &&
        (!text || d.device.name.toLowerCase().includes(text)) &&
        (!type || d.device.type === type),
    );
    const prop = q.get('sortProperty') || 'id';
    const desc = (q.get('sortOrder') ?? 'ASC').toUpperCase() === 'DESC';
    const key: Record<string, (d: SandboxDevice) => string | number> = {
      id: (d) => d.device.id.id,
      createdTime: (d) => d.device.createdTime,
      name: (d) => d.device.name,
      label: (d) => d.device.label ?? '',
      type: (d) => d.device.type ?? '',
      deviceProfileName: (d) => d.device.type ?? '',
    };
    const by = key[prop];
    if (!by) throw new HttpError(400, `Invalid sort property: ${prop}`, 31);
    list = [...list].sort((a, b) => {
      const x = by(a);
      const y = by(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
    });
    const total = list.length;
    return {
      data: list.slice(page * pageSize, (page + 1) * pageSize).map((d) => d.device),
      totalPages: Math.ceil(total / pageSize),
      totalElements: total,
      hasNext: total > (page + 1) * pageSize,
    };
  };

  const latestTimeseries = (d: SandboxDevice, q: URLSearchParams) => {
    const strict = q.get('useStrictDataTypes') === 'true';
    const out: Record<string, { ts: number; value: unknown }[]> = {};
    for (const key of keysOf(q) ?? Object.keys(d.timeseries)) {
      const v = d.timeseries[key];
      // Like ThingsBoard's findLatest: a key without data answers the server's "now" and null.
      out[key] = v ? [{ ts: v.ts, value: strict ? v.value : asString(v.value) }] : [{ ts: now(), value: null }];
    }
    return out;
  };

  const attributes = (d: SandboxDevice, scope: string | undefined, q: URLSearchParams) => {
    const scopes: TbAttributeScope[] = scope ? [scope as TbAttributeScope] : ['CLIENT_SCOPE', 'SERVER_SCOPE', 'SHARED_SCOPE'];
    if (scope && !TB_ATTRIBUTE_SCOPES.includes(scope as TbAttributeScope)) throw new HttpError(400, `Invalid attribute scope: ${scope}`, 31);
    const keys = keysOf(q);
    return scopes.flatMap((s) =>
      Object.entries(d.attributes[s])
        .filter(([k]) => !keys || keys.includes(k))
        .map(([key, v]) => ({ lastUpdateTs: v.ts, key, value: v.value })),
    );
  };

  const saveAttributes = (d: SandboxDevice, scope: string, body: unknown) => {
    if (scope !== 'SERVER_SCOPE' && scope !== 'SHARED_SCOPE') throw new HttpError(400, `Invalid scope: ${scope}`, 31);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'Request is not a JSON object', 31);
    const entries = Object.entries(body as Record<string, unknown>);
    if (entries.length === 0) throw new HttpError(400, 'No attributes data found in request body!', 31);
    const ts = now();
    for (const [k] of entries) {
      if (k.trim() === '') throw new HttpError(400, 'Key cannot be empty or contains only spaces', 31);
    }
    for (const [k, v] of entries) {
      d.attributes[scope as TbAttributeScope][k] = { value: v, ts };
      const key = v && typeof v === 'object' ? (v as { key?: unknown }).key : undefined;
      if (typeof key === 'string') effects.record(key);
    }
  };

  /**
   * `POST /api/entitiesQuery/find`: entity filters `entityList` and `entityType` (DEVICE only),
   * pageLink paging (sortOrder on an ENTITY_FIELD; id order otherwise), `entityFields` and
   * `latestValues` answered as ThingsBoard does: `latest[type][key] = {ts, value}`, every value a
   * string, `{ts: 0, value: ""}` for a key without data (entity fields carry ts 0 here).
   */
  const KEY_TYPES = ['ENTITY_FIELD', 'ATTRIBUTE', 'CLIENT_ATTRIBUTE', 'SHARED_ATTRIBUTE', 'SERVER_ATTRIBUTE', 'TIME_SERIES'];
  const ENTITY_FIELDS: Record<string, (d: SandboxDevice) => string | number> = {
    name: (d) => d.device.name,
    label: (d) => d.device.label ?? '',
    type: (d) => d.device.type ?? '',
    createdTime: (d) => d.device.createdTime,
  };
  const entityQuery = (body: unknown) => {
    const bad = (message: string) => new HttpError(400, message, 31);
    const q = (body ?? {}) as Record<string, unknown>;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('Request is not a JSON object');
    const filter = q.entityFilter as Record<string, unknown> | undefined;
    if (!filter || typeof filter !== 'object') throw bad('Entity filter is required!');
    const link = q.pageLink as Record<string, unknown> | undefined;
    if (!link || typeof link !== 'object') throw bad('Page link is required!');
    const pageSize = link.pageSize;
    const page = link.page ?? 0;
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1) throw bad('Page size must be greater than zero!');
    if (typeof page !== 'number' || !Number.isInteger(page) || page < 0) throw bad('Incorrect page link page parameter');
    const keysOfList = (name: string) => {
      const list = q[name] ?? [];
      if (!Array.isArray(list)) throw bad(`${name} must be a list`);
      return list.map((k: unknown) => {
        const key = k as { type?: unknown; key?: unknown } | null;
        if (!key || typeof key.key !== 'string' || !KEY_TYPES.includes(String(key.type))) throw bad(`Invalid entity key: ${JSON.stringify(k)}`);
        return { type: String(key.type), key: key.key };
      });
    };
    const fields = keysOfList('entityFields');
    const values = keysOfList('latestValues');
    let list: SandboxDevice[];
    switch (filter.type) {
      case 'entityList': {
        if (filter.entityType !== 'DEVICE') throw bad(`Unsupported entity type: ${String(filter.entityType)}`);
        if (!Array.isArray(filter.entityList)) throw bad('Entity list is required!');
        const ids = filter.entityList.map((id: unknown) => {
          if (!UUID.test(String(id))) throw bad(`Invalid UUID string: ${String(id)}`);
          return String(id).toLowerCase();
        });
        const wanted = new Set(ids);
        list = data.devices.filter((d) => wanted.has(d.device.id.id));
        break;
      }
      case 'entityType':
        if (filter.entityType !== 'DEVICE') throw bad(`Unsupported entity type: ${String(filter.entityType)}`);
        list = data.devices;
        break;
      default:
        throw bad(`Unsupported entity filter type: ${String(filter.type)}`);
    }
    const text = typeof link.textSearch === 'string' ? link.textSearch.toLowerCase() : '';
    if (text) list = list.filter((d) => d.device.name.toLowerCase().includes(text));
    const order = link.sortOrder as { key?: { type?: unknown; key?: unknown }; direction?: unknown } | undefined;
    const by = order ? ENTITY_FIELDS[String(order.key?.key)] : (d: SandboxDevice) => d.device.id.id;
    if (!by || (order && order.key?.type !== 'ENTITY_FIELD')) throw bad(`Unsupported sort key: ${JSON.stringify(order?.key)}`);
    const dir = order?.direction === 'DESC' ? -1 : 1;
    list = [...list].sort((a, b) => {
      const x = by(a);
      const y = by(b);
      return (x < y ? -1 : x > y ? 1 : a.device.id.id < b.device.id.id ? -1 : 1) * dir;
    });
    const empty = { ts: 0, value: '' };
    const latestOf = (d: SandboxDevice) => {
      const latest: Record<string, Record<string, { ts: number; value: string }>> = {};
      const put = (type: string, key: string, v: { ts: number; value: string }) => ((latest[type] ??= {})[key] = v);
      for (const f of fields) {
        const get = ENTITY_FIELDS[f.key];
        put(f.type, f.key, get ? { ts: 0, value: String(get(d)) } : empty);
      }
      for (const v of values) {
        let found: SandboxValue | undefined;
        if (v.type === 'TIME_SERIES') found = d.timeseries[v.key];
        else if (v.type === 'ATTRIBUTE') {
          // Any scope: the newest of the three.
          for (const scope of ['CLIENT_SCOPE', 'SERVER_SCOPE', 'SHARED_SCOPE'] as const) {
            const a = d.attributes[scope][v.key];
            if (a && (!found || a.ts > found.ts)) found = a;
          }
        } else if (v.type !== 'ENTITY_FIELD') found = d.attributes[`${v.type.replace('_ATTRIBUTE', '')}_SCOPE` as TbAttributeScope][v.key];
        else {
          const get = ENTITY_FIELDS[v.key];
          put(v.type, v.key, get ? { ts: 0, value: String(get(d)) } : empty);
          continue;
        }
        put(v.type, v.key, found ? { ts: found.ts, value: asString(found.value) } : empty);
      }
      return latest;
    };
    const total = list.length;
    return {
      data: list.slice(page * pageSize, (page + 1) * pageSize).map((d) => ({ entityId: { entityType: 'DEVICE', id: d.device.id.id }, readAttrs: true, readTs: true, latest: latestOf(d), timeseries: {} })),
      totalPages: Math.ceil(total / pageSize),
      totalElements: total,
      hasNext: total > (page + 1) * pageSize,
    };
  };

  type Handler = (m: RegExpExecArray, q: URLSearchParams, req: IncomingMessage, body: unknown) => unknown;
  const routes: Array<[string, RegExp, Handler, { auth: boolean }]> = [
    [
      'POST',
      /^\/api\/auth\/login$/,
      (_m, _q, _req, body) => {
        const b = (body ?? {}) as Record<string, unknown>;
        const user = data.users.find((u) => u.username === b.username && u.password === b.password);
        if (!user) {
          stats.failedLogins++;
          throw new HttpError(401, 'Invalid username or password', 10);
        }
        stats.logins++;
        return issue(user, `session-${++sessions}`);
      },
      { auth: false },
    ],
    [
      'POST',
      /^\/api\/auth\/token$/,
      (_m, _q, _req, body) => {
        const t = (body as Record<string, unknown> | null)?.refreshToken;
        const claims = typeof t === 'string' ? verify(t) : undefined;
        if (!claims || !claims.scopes.includes('REFRESH_TOKEN')) throw authFailed();
        if (expired(claims, refreshGen)) throw tokenExpired();
        const user = data.users.find((u) => u.userId === claims.userId);
        if (!user) throw authFailed();
        stats.refreshes++;
        return issue(user, claims.sessionId);
      },
      { auth: false },
    ],
    ['POST', /^\/api\/auth\/logout$/, () => undefined, { auth: true }],
    [
      'GET',
      /^\/api\/auth\/user$/,
      (_m, _q, req) => {
        const u = authenticate(req);
        return {
          id: { entityType: 'USER', id: u.userId },
          createdTime: 1_700_000_000_000,
          tenantId: { entityType: 'TENANT', id: data.tenantId },
          customerId: { entityType: 'CUSTOMER', id: u.customerId },
          email: u.username,
          authority: u.authority,
          firstName: u.firstName ?? null,
          lastName: null,
          name: u.username,
          additionalInfo: {},
        };
      },
      { auth: false }, // authenticates itself (the handler needs the user)
    ],
    ['GET', /^\/api\/tenant\/devices$/, (_m, q) => listDevices(q), { auth: true }],
    [
      'GET',
      /^\/api\/customer\/([^/]+)\/devices$/,
      (m, q) => {
        if (!UUID.test(m[1])) throw new HttpError(400, `Invalid UUID string: ${m[1]}`, 31);
        return listDevices(q, m[1].toLowerCase());
      },
      { auth: true },
    ],
    ['POST', /^\/api\/entitiesQuery\/find$/, (_m, _q, _req, body) => entityQuery(body), { auth: true }],
    ['GET', /^\/api\/device\/([^/]+)$/, (m) => deviceOr404(m[1]).device, { auth: true }],
    ['GET', /^\/api\/plugins\/telemetry\/DEVICE\/([^/]+)\/values\/timeseries$/, (m, q) => latestTimeseries(deviceOr404(m[1]), q), { auth: true }],
    ['GET', /^\/api\/plugins\/telemetry\/DEVICE\/([^/]+)\/values\/attributes(?:\/([A-Z_]+))?$/, (m, q) => attributes(deviceOr404(m[1]), m[2], q), { auth: true }],
    ['POST', /^\/api\/plugins\/telemetry\/DEVICE\/([^/]+)\/attributes\/([A-Z_]+)$/, (m, _q, _r, body) => saveAttributes(deviceOr404(m[1]), m[2], body), { auth: true }],
    ['POST', /^\/api\/plugins\/telemetry\/DEVICE\/([^/]+)\/([A-Z_]+)$/, (m, _q, _r, body) => saveAttributes(deviceOr404(m[1]), m[2], body), { auth: true }],
  ];

  // --- plumbing ----------------------------------------------------------------------------
  const takeInjection = (kind: Injection['kind'], method: string, path: string): Injection | undefined => {
    const hit = injections.find(
      (i) =>
        i.kind === kind &&
        i.remaining > 0 &&
        (!i.options.method || i.options.method.toUpperCase() === method) &&
        (!i.options.path || (typeof i.options.path === 'string' ? path.includes(i.options.path) : i.options.path.test(path))),
    );
    if (hit) {
      hit.remaining--;
      injections = injections.filter((i) => i.remaining > 0);
    }
    return hit;
  };

  const readBody = (req: IncomingMessage) => readSandboxBody(req, { maxBytes: MAX_BODY, tooLarge: () => new HttpError(413, 'Payload too large', 31) });

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const errorBody = (status: number, message: string, errorCode: number) => JSON.stringify({ status, message, errorCode, timestamp: now() });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (effects.serve(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://sandbox.local');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    let lose = false;
    const send = (status: number, body: string | undefined, headers: Record<string, string> = {}) => {
      if (stats.requests.length < MAX_LOG) stats.requests.push({ method, path, query: url.search, status });
      if (lose) return void req.socket.destroy(); // done, but the answer never arrives
      if (!res.headersSent) {
        res.writeHead(status, { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers });
        res.end(body);
      }
    };
    try {
      const rawBody = method === 'POST' || method === 'PUT' ? await readBody(req) : '';
      lose = !!takeInjection('lose', method, path);
      const slow = takeInjection('slow', method, path);
      if (slow?.ms) await wait(slow.ms);
      const fail = takeInjection('fail', method, path);
      if (fail?.status) {
        const s = fail.status;
        const headers: Record<string, string> = fail.options.retryAfterSeconds !== undefined ? { 'Retry-After': String(fail.options.retryAfterSeconds) } : {};
        if (s === 429) return send(s, errorBody(s, 'Too many requests for current tenant!', 33), headers);
        if (s === 502 || s === 503 || s === 504) {
          // What a load balancer in front of ThingsBoard answers.
          return send(s, `<html><body><h1>${s} Service Unavailable</h1></body></html>`, { 'Content-Type': 'text/html', ...headers });
        }
        return send(s, errorBody(s, s >= 500 ? 'Internal server error' : 'Injected failure', 2), headers);
      }
      if (takeInjection('malformed', method, path)) return send(200, '{"data":[{"id":{"entityType":"DEVICE","id":', {});

      for (const [m, pattern, handler, opts] of routes) {
        const match = pattern.exec(path);
        if (!match) continue;
        if (m !== method) throw new HttpError(405, `Request method '${method}' is not supported`, 2);
        if (opts.auth) authenticate(req);
        let body: unknown;
        if (rawBody !== '') {
          try {
            body = JSON.parse(rawBody);
          } catch {
            throw new HttpError(400, 'Invalid request body', 31);
          }
        }
        const result = handler(match, url.searchParams, req, body);
        return send(200, result === undefined ? undefined : JSON.stringify(result));
      }
      throw new HttpError(404, 'Requested item wasn\'t found!', 32);
    } catch (err) {
      if (err instanceof HttpError) return send(err.status, errorBody(err.status, err.message, err.errorCode));
      return send(500, errorBody(500, err instanceof Error ? err.message : String(err), 2));
    } finally {
      stats.inFlight--;
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const mustDevice = (id: string) => {
    const d = byId.get(id.toLowerCase());
    if (!d) throw new Error(`thingsboard sandbox: no device ${id}`);
    return d;
  };
  const control: SandboxControl = {
    failNext: (count, status, o = {}) => void injections.push({ kind: 'fail', remaining: count, status, options: o }),
    malformedNext: (count, o = {}) => void injections.push({ kind: 'malformed', remaining: count, options: o }),
    slowNext: (count, ms, o = {}) => void injections.push({ kind: 'slow', remaining: count, ms, options: o }),
    loseResponseNext: (count, o = {}) => void injections.push({ kind: 'lose', remaining: count, options: o }),
    effects,
    expireTokens: () => void accessGen++,
    expireRefreshTokens: () => {
      accessGen++;
      refreshGen++;
    },
    setTelemetry: (id, values, ts) => {
      const d = mustDevice(id);
      for (const [k, v] of Object.entries(values)) d.timeseries[k] = { value: v, ts: ts ?? now() };
    },
    setAttributes: (id, scope, values, ts) => {
      const d = mustDevice(id);
      for (const [k, v] of Object.entries(values)) d.attributes[scope][k] = { value: v, ts: ts ?? now() };
    },
    addDevice: (d) => {
      const copy = structuredClone(d);
      data.devices.push(copy);
      byId.set(copy.device.id.id.toLowerCase(), copy);
    },
    removeDevice: (id) => {
      const d = mustDevice(id);
      data.devices.splice(data.devices.indexOf(d), 1);
      byId.delete(id.toLowerCase());
    },
    device: (id) => byId.get(id.toLowerCase()),
    devices: () => listDevices(new URLSearchParams({ pageSize: String(Math.max(1, data.devices.length)) })).data.map((d) => byId.get(d.id.id)!),
    stats,
    resetStats: () => {
      stats.logins = 0;
      stats.refreshes = 0;
      stats.failedLogins = 0;
      stats.requests.length = 0;
      stats.maxInFlight = stats.inFlight;
    },
    clearInjections: () => {
      injections = [];
    },
  };

  return {
    url: `http://${host}:${address.port}`,
    control,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** `node dist/connectors/thingsboard/sandbox/server.js [port]`: serve the demo tenant until stopped. */
if (require.main === module) {
  const port = Number(process.argv[2] ?? process.env.TB_SANDBOX_PORT ?? 9090);
  void startThingsBoardSandbox({ port, scale: Number(process.env.TB_SANDBOX_SCALE ?? 0) }).then((s) => {
    console.log(`ThingsBoard sandbox on ${s.url} (user tenant@thingsboard.org / tenant)`);
    const stop = () => void s.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
