/**
 * The ThingsBoard connector against nock replies shaped like ThingsBoard's own (bodies, error
 * bodies, the missing-key quirk). Time is the kit's fakeClock: every wait is recorded, none is
 * slept.
 */
import nock from 'nock';
import {
  Connector,
  ConnectorEntry,
  ConnectorError,
  createConnector,
  fakeClock,
  FakeClock,
  HttpLogEntry,
  SourcePage,
} from '../../src/connectors';
import './index'; // registers the connector type
import type { DevicePayload, ThingsBoardConnector } from './index';
import { DEFAULT_DEVICES_SETTINGS } from './streams';

const BASE = 'https://tb.acme.test';
const USER = 'svc-junction@acme.test';
const PASSWORD = 'Pa55-w0rd!xyzzy';
const ENV = { TB_USERNAME: USER, TB_PASSWORD: PASSWORD, TB_API_KEY: 'tb_k3y-value' };
const LIST = '/api/tenant/devices';
const ATTR_KEYS = 'active,lastActivityTime';
const TS_KEYS = 'runCount,faultCodes,current_fw_version';

const D1 = '1e9a3b40-6f01-11ef-8a11-0d5b6c7e8f01';
const D2 = '2f0b4c51-6f01-11ef-8a11-0d5b6c7e8f02';
const D3 = '3a1c5d62-6f01-11ef-8a11-0d5b6c7e8f03';
const D4 = '4b2d6e73-6f01-11ef-8a11-0d5b6c7e8f04';

let clock: FakeClock;
let logs: HttpLogEntry[];

function entry(devices: Record<string, unknown> = {}, extra: Partial<ConnectorEntry> = {}): ConnectorEntry {
  return {
    name: 'iot',
    type: 'thingsboard',
    baseUrl: BASE,
    sandbox: false,
    credentials: { username: { env: 'TB_USERNAME' }, password: { env: 'TB_PASSWORD' } },
    streams: { devices: { pageSize: 2, concurrency: 2, readMode: 'perDevice', ...devices } },
    options: {},
    ...extra,
  };
}

function connector(devices: Record<string, unknown> = {}, extra: Partial<ConnectorEntry> = {}): ThingsBoardConnector {
  return createConnector(entry(devices, extra), { env: ENV, clock, logger: (e) => logs.push(e), random: () => 0.5 }) as ThingsBoardConnector;
}

/** A JWT shaped like ThingsBoard's (claims readable, signature irrelevant to the client). */
function jwt(sub: string, scopes: string[], lifetimeSeconds: number, extra: Record<string, unknown> = {}): string {
  const iat = Math.floor(clock.now() / 1000);
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'HS512' })}.${part({ sub, scopes, iat, exp: iat + lifetimeSeconds, iss: 'thingsboard.io', ...extra })}.c2lnbmF0dXJl`;
}

function pair(n: number) {
  return { token: jwt(`token-${n}`, ['TENANT_ADMIN'], 9000), refreshToken: jwt(`refresh-${n}`, ['REFRESH_TOKEN'], 604800) };
}

function tbError(status: number, message: string, errorCode: number) {
  return { status, message, errorCode, timestamp: clock.now() };
}

function device(id: string, name: string, createdTime: number, extra: Record<string, unknown> = {}) {
  return {
    id: { entityType: 'DEVICE', id },
    createdTime,
    tenantId: { entityType: 'TENANT', id: '3c5d8f40-6a1b-11ef-8e0c-5b1f3a2d7c10' },
    customerId: { entityType: 'CUSTOMER', id: '13814000-1dd2-11b2-8080-808080808080' },
    name,
    type: 'air-conditioner',
    label: 'KFR-72LW/N8HR3',
    deviceProfileId: { entityType: 'DEVICE_PROFILE', id: '5b1c2d30-6a1b-11ef-8e0c-5b1f3a2d7c10' },
    firmwareId: null,
    softwareId: null,
    additionalInfo: { gateway: false, description: '' },
    version: 1,
    ...extra,
  };
}

function page(data: unknown[], hasNext: boolean, totalElements: number, pageSize = 2) {
  return { data, totalPages: Math.ceil(totalElements / pageSize), totalElements, hasNext };
}

/** Expects a login and answers it with token pair n. */
function login(n = 1) {
  return nock(BASE)
    .post('/api/auth/login', { username: USER, password: PASSWORD })
    .matchHeader('content-type', /application\/json/)
    .reply(200, pair(n));
}

/** The two per-device calls: server-scope attributes and latest time series. */
function values(id: string, token: string, attrs: nock.Body, ts: nock.Body) {
  return nock(BASE)
    .get(`/api/plugins/telemetry/DEVICE/${id}/values/attributes/SERVER_SCOPE`)
    .query({ keys: ATTR_KEYS })
    .matchHeader('x-authorization', `Bearer ${token}`)
    .reply(200, attrs)
    .get(`/api/plugins/telemetry/DEVICE/${id}/values/timeseries`)
    .query({ keys: TS_KEYS })
    .matchHeader('x-authorization', `Bearer ${token}`)
    .reply(200, ts);
}

function simpleValues(id: string, token: string, runCount: string, at: number) {
  return values(
    id,
    token,
    [
      { lastUpdateTs: at, key: 'active', value: true },
      { lastUpdateTs: at, key: 'lastActivityTime', value: at },
    ],
    { runCount: [{ ts: at, value: runCount }], faultCodes: [{ ts: at, value: '' }], current_fw_version: [{ ts: at - 1000, value: 'V3.1.0' }] },
  );
}

async function readAll(c: Connector, cursor: string | null = null, pageSize?: number): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const p of c.streams.devices.read(cursor, pageSize ? { pageSize } : undefined)) pages.push(p);
  return pages;
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  }
  throw new Error('expected a ConnectorError');
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(() => {
  clock = fakeClock();
  logs = [];
});
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

describe('reading devices', () => {
  it('logs in, pages until hasNext is false and reads each device’s latest values', async () => {
    const t = pair(1).token;
    const now = clock.now();
    login(1);
    nock(BASE)
      .get(LIST)
      .query({ pageSize: '2', page: '0' })
      .matchHeader('x-authorization', `Bearer ${t}`)
      .reply(200, page([device(D1, 'ga72h 2305 664204', 1_700_000_000_000), device(D2, 'GB35R2007511900', 1_700_000_100_000)], true, 3))
      .get(LIST)
      .query({ pageSize: '2', page: '1' })
      .matchHeader('x-authorization', `Bearer ${t}`)
      .reply(200, page([device(D3, 'DK20P2509578702', 1_700_000_200_000)], false, 3));
    values(
      D1,
      t,
      [
        { lastUpdateTs: now - 60_000, key: 'active', value: true },
        { lastUpdateTs: now - 30_000, key: 'lastActivityTime', value: now - 30_000 },
      ],
      {
        runCount: [{ ts: now - 30_000, value: '8960' }],
        faultCodes: [{ ts: now - 60_000, value: 'E1' }],
        current_fw_version: [{ ts: 1_700_000_300_000, value: 'V3.1.0' }],
      },
    );
    simpleValues(D2, t, '6978', now - 120_000);
    // D3 never reported its firmware: ThingsBoard answers that key with the server's "now" and null.
    values(D3, t, [{ lastUpdateTs: now - 200_000, key: 'active', value: false }], {
      runCount: [{ ts: now - 500_000, value: '3010' }],
      faultCodes: [{ ts: now - 500_000, value: 'L1' }],
      current_fw_version: [{ ts: now + 7_000, value: null }],
    });

    const c = connector();
    const pages = await readAll(c);

    expect(nock.pendingMocks()).toEqual([]);
    expect(pages.map((p) => [p.records.map((r) => r.externalId), p.hasMore])).toEqual([
      [[D1, D2], true],
      [[D3], false],
    ]);
    const first = pages[0].records[0];
    expect(first.version).toBe(String(now - 30_000));
    expect(first.updatedAt).toBe(new Date(now - 30_000).toISOString());
    expect(first.payload).toEqual<DevicePayload>({
      serial: 'ga72h 2305 664204',
      serialField: 'name',
      device: device(D1, 'ga72h 2305 664204', 1_700_000_000_000) as DevicePayload['device'],
      attributes: { active: true, lastActivityTime: now - 30_000 },
      attributeTs: { active: now - 60_000, lastActivityTime: now - 30_000 },
      timeseries: {
        runCount: { ts: now - 30_000, value: '8960' },
        faultCodes: { ts: now - 60_000, value: 'E1' },
        current_fw_version: { ts: 1_700_000_300_000, value: 'V3.1.0' },
      },
    });
    // The placeholder for a key without data is neither a value nor a change.
    const last = pages[1].records[0];
    expect((last.payload as DevicePayload).timeseries).toEqual({
      runCount: { ts: now - 500_000, value: '3010' },
      faultCodes: { ts: now - 500_000, value: 'L1' },
    });
    expect(last.version).toBe(String(now - 200_000));
    // Mid-scan cursor resumes at page 1 after D2; the last one is a finished scan.
    expect(JSON.parse(pages[0].cursor!)).toEqual({ v: 1, page: 1, size: 2, after: D2, hw: now - 30_000 });
    expect(JSON.parse(pages[1].cursor!)).toEqual({ v: 1, hw: now - 30_000 });
    expect(c.authStats).toEqual({ logins: 1, refreshes: 0 });
    expect(clock.sleeps).toEqual([]);
  });

  it('ends the scan at an empty page even when it claims hasNext (offset paging: nothing lies beyond it)', async () => {
    const t = pair(1).token;
    login(1);
    nock(BASE)
      .get(LIST)
      .query({ pageSize: '2', page: '0' })
      .reply(200, page([device(D1, 'A1', 1), device(D2, 'A2', 2)], true, 6))
      .get(LIST)
      .query({ pageSize: '2', page: '1' })
      .reply(200, page([], true, 6));
    simpleValues(D1, t, '1', clock.now());
    simpleValues(D2, t, '2', clock.now());
    // Any request for page 2 would hit no interceptor and fail the read.
    const pages = await readAll(connector());
    expect(pages.map((p) => [p.records.length, p.hasMore])).toEqual([
      [2, true],
      [0, false],
    ]);
    expect(JSON.parse(pages[1].cursor!)).toEqual({ v: 1, hw: clock.now() });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('stops with a clear error when a page repeats devices already read (page parameter ignored)', async () => {
    const t = pair(1).token;
    login(1);
    const same = page([device(D1, 'A1', 1), device(D2, 'A2', 2)], true, 40);
    nock(BASE).get(LIST).query({ pageSize: '2', page: '0' }).reply(200, same).get(LIST).query({ pageSize: '2', page: '1' }).reply(200, same);
    simpleValues(D1, t, '1', clock.now());
    simpleValues(D2, t, '2', clock.now());
    const pages: SourcePage[] = [];
    const err = await rejection(
      (async () => {
        for await (const p of connector().streams.devices.read(null)) pages.push(p);
      })(),
    );
    expect(pages).toHaveLength(1);
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.retryable).toBe(false);
    expect(err.path).toBe(LIST);
    expect(err.message).toContain('all 2 devices on device list page 1 were already read in this scan');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('skips a device deleted between listing and reading its values (404 ITEM_NOT_FOUND)', async () => {
    const t = pair(1).token;
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, page([device(D1, 'A1', 1), device(D2, 'A2', 2)], false, 2));
    nock(BASE)
      .get(`/api/plugins/telemetry/DEVICE/${D1}/values/attributes/SERVER_SCOPE`)
      .query(true)
      .reply(404, tbError(404, `Device with id [${D1}] is not found`, 32));
    simpleValues(D2, t, '2', clock.now());
    const pages = await readAll(connector());
    expect(pages[0].records.map((r) => r.externalId)).toEqual([D2]);
  });

  it('does not mistake a proxy’s 404 page for a deleted device: the read fails', async () => {
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, page([device(D1, 'A1', 1)], false, 1));
    nock(BASE)
      .get(`/api/plugins/telemetry/DEVICE/${D1}/values/attributes/SERVER_SCOPE`)
      .query(true)
      .reply(404, '<html><body>404 Not Found</body></html>', { 'Content-Type': 'text/html' });
    const err = await rejection(readAll(connector()));
    expect(err).toMatchObject({ code: 'CONNECTOR_REQUEST_REJECTED', status: 404 });
  });

  it('resumes an interrupted scan one page early and hands out no device twice', async () => {
    const t = pair(1).token;
    login(1);
    nock(BASE).get(LIST).query({ pageSize: '2', page: '0' }).reply(200, page([device(D1, 'A1', 1), device(D2, 'A2', 2)], true, 4));
    simpleValues(D1, t, '1', clock.now());
    simpleValues(D2, t, '2', clock.now());
    const c = connector();
    const it = c.streams.devices.read(null)[Symbol.asyncIterator]();
    const first = (await it.next()).value as SourcePage;
    await it.return?.(); // worker stopped after storing page 0
    expect(nock.pendingMocks()).toEqual([]);

    // Resumed: page 0 again (a deleted device may have shifted the rest), D1 and D2 not re-read.
    nock(BASE)
      .get(LIST)
      .query({ pageSize: '2', page: '0' })
      .reply(200, page([device(D1, 'A1', 1), device(D2, 'A2', 2)], true, 4))
      .get(LIST)
      .query({ pageSize: '2', page: '1' })
      .reply(200, page([device(D3, 'A3', 3), device(D4, 'A4', 4)], false, 4));
    simpleValues(D3, t, '3', clock.now());
    simpleValues(D4, t, '4', clock.now());
    const pages = await readAll(c, first.cursor);
    expect(pages.map((p) => p.records.map((r) => r.externalId))).toEqual([[], [D3, D4]]);
    expect(pages[1].hasMore).toBe(false);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('stops between pages when the caller aborts, sending nothing more', async () => {
    const t = pair(1).token;
    login(1);
    nock(BASE).get(LIST).query({ pageSize: '2', page: '0' }).reply(200, page([device(D1, 'A1', 1), device(D2, 'A2', 2)], true, 4));
    simpleValues(D1, t, '1', clock.now());
    simpleValues(D2, t, '2', clock.now());
    const ac = new AbortController();
    const it = connector().streams.devices.read(null, { signal: ac.signal })[Symbol.asyncIterator]();
    expect(((await it.next()).value as SourcePage).records).toHaveLength(2);
    const sent = logs.length;
    ac.abort(new Error('worker shutting down'));
    await expect(it.next()).rejects.toThrow('worker shutting down');
    expect(logs.slice(sent).filter((l) => l.outcome !== 'ABORTED')).toEqual([]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('reads a customer’s devices, with typed values, from the settings', async () => {
    const customer = '4a7e9b20-6a1b-11ef-8e0c-5b1f3a2d7c10';
    login(1);
    nock(BASE)
      .get(`/api/customer/${customer}/devices`)
      .query({ pageSize: '50', page: '0', textSearch: 'ga72h', type: 'air-conditioner' })
      .reply(200, page([device(D1, 'GA72H2305664204', 1)], false, 1, 50))
      .get(`/api/plugins/telemetry/DEVICE/${D1}/values/attributes`)
      .query({ keys: 'active,fw_version' })
      .reply(200, [
        { lastUpdateTs: 9, key: 'fw_version', value: 'V3.1.0' }, // same key in two scopes: the newest wins
        { lastUpdateTs: 5, key: 'fw_version', value: 'V3.0.2' },
        { lastUpdateTs: 7, key: 'active', value: true },
      ])
      .get(`/api/plugins/telemetry/DEVICE/${D1}/values/timeseries`)
      .query({ keys: 'runCount', useStrictDataTypes: 'true' })
      .reply(200, { runCount: [{ ts: 8, value: 8960 }] });
    const c = connector({
      pageSize: 50,
      customerId: customer,
      textSearch: 'ga72h',
      deviceType: 'air-conditioner',
      attributeScope: 'ANY',
      attributeKeys: ['active', 'fw_version'],
      timeseriesKeys: ['runCount'],
      useStrictDataTypes: true,
    });
    const [p] = await readAll(c);
    expect(p.records[0].payload).toMatchObject({ attributes: { active: true, fw_version: 'V3.1.0' }, timeseries: { runCount: { ts: 8, value: 8960 } } });
    expect(p.records[0].version).toBe('9');
  });
});

describe('sessions', () => {
  it('on an expired token refreshes with the refresh token and retries the request once', async () => {
    const [one, two] = [pair(1), pair(2)];
    login(1);
    nock(BASE)
      .get(LIST)
      .query(true)
      .matchHeader('x-authorization', `Bearer ${one.token}`)
      .reply(401, tbError(401, 'Token has expired', 11))
      .post('/api/auth/token', { refreshToken: one.refreshToken })
      .reply(200, two)
      .get(LIST)
      .query(true)
      .matchHeader('x-authorization', `Bearer ${two.token}`)
      .reply(200, page([], false, 0));
    const c = connector();
    const pages = await readAll(c);
    expect(pages).toHaveLength(1);
    expect(c.authStats).toEqual({ logins: 1, refreshes: 1 });
    expect(logs.filter((l) => l.url.startsWith(LIST)).map((l) => [l.status, l.outcome])).toEqual([
      [401, 'REAUTH'],
      [200, 'ok'],
    ]);
    expect(clock.sleeps).toEqual([]); // a renewal is not a backoff
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('logs in again when the refresh is refused too', async () => {
    const [one, three] = [pair(1), pair(3)];
    login(1);
    nock(BASE)
      .get(LIST)
      .query(true)
      .matchHeader('x-authorization', `Bearer ${one.token}`)
      .reply(401, tbError(401, 'Token has expired', 11))
      .post('/api/auth/token', { refreshToken: one.refreshToken })
      .reply(401, tbError(401, 'Token has expired', 11));
    login(3);
    nock(BASE)
      .get(LIST)
      .query(true)
      .matchHeader('x-authorization', `Bearer ${three.token}`)
      .reply(200, page([], false, 0));
    const c = connector();
    await readAll(c);
    expect(c.authStats).toEqual({ logins: 2, refreshes: 1 });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('retries only once: refused again right after renewing is CONNECTOR_AUTH_FAILED', async () => {
    const [one, two] = [pair(1), pair(2)];
    login(1);
    nock(BASE)
      .get(LIST)
      .query(true)
      .matchHeader('x-authorization', `Bearer ${one.token}`)
      .reply(401, tbError(401, 'Token has expired', 11))
      .post('/api/auth/token')
      .reply(200, two)
      .get(LIST)
      .query(true)
      .matchHeader('x-authorization', `Bearer ${two.token}`)
      .reply(401, tbError(401, 'Authentication failed', 10))
      .get(LIST)
      .query(true)
      .reply(200, page([], false, 0));
    const err = await rejection(readAll(connector()));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.vendorErrors).toEqual([{ code: 'AUTHENTICATION', message: 'Authentication failed' }]);
    expect(nock.pendingMocks()).toHaveLength(1); // the third attempt was never sent
  });

  it('renews a token that is about to lapse before sending, measured on our clock', async () => {
    const [one, two] = [pair(1), pair(2)];
    login(1);
    nock(BASE)
      .get('/api/auth/user')
      .matchHeader('x-authorization', `Bearer ${one.token}`)
      .reply(200, { id: { entityType: 'USER', id: D4 }, authority: 'TENANT_ADMIN' })
      .post('/api/auth/token', { refreshToken: one.refreshToken })
      .reply(200, two)
      .get('/api/auth/user')
      .matchHeader('x-authorization', `Bearer ${two.token}`)
      .reply(200, { id: { entityType: 'USER', id: D4 }, authority: 'TENANT_ADMIN' });
    const c = connector();
    expect((await c.healthCheck()).ok).toBe(true);
    clock.advance(9000_000 - 5_000); // 5 s before the 2.5 h lifetime ends
    expect((await c.healthCheck()).ok).toBe(true);
    expect(c.authStats).toEqual({ logins: 1, refreshes: 1 });
    expect(logs.some((l) => l.status === 401)).toBe(false);
  });

  it('sends an API key as X-Authorization: ApiKey, with no login (ThingsBoard 4.3+)', async () => {
    nock(BASE)
      .get('/api/auth/user')
      .matchHeader('x-authorization', 'ApiKey tb_k3y-value')
      .reply(200, { id: { entityType: 'USER', id: D4 }, authority: 'TENANT_ADMIN' });
    const c = connector({}, { credentials: { apiKey: { env: 'TB_API_KEY' } } });
    expect(await c.healthCheck()).toMatchObject({ ok: true, details: { authority: 'TENANT_ADMIN' } });
    expect(c.authStats).toEqual({ logins: 0, refreshes: 0 });
    expect(JSON.stringify(logs)).not.toContain('tb_k3y-value');
  });

  it('refuses a login that stops at a second factor, saying why', async () => {
    nock(BASE)
      .post('/api/auth/login')
      .reply(200, { token: jwt(USER, ['PRE_VERIFICATION_TOKEN'], 300), refreshToken: null, scope: 'PRE_VERIFICATION_TOKEN' });
    const health = await connector().healthCheck();
    expect(health).toMatchObject({ ok: false, code: 'CONNECTOR_AUTH_FAILED' });
    expect(health.message).toContain('second factor');
  });
});

describe('failures', () => {
  it('waits out a 429 for the Retry-After it names, then reads the page', async () => {
    login(1);
    nock(BASE)
      .get(LIST)
      .query(true)
      .reply(429, tbError(429, 'Too many requests for current tenant!', 33), { 'Retry-After': '3' })
      .get(LIST)
      .query(true)
      .reply(200, page([], false, 0));
    const pages = await readAll(connector());
    expect(pages).toHaveLength(1);
    expect(clock.sleeps).toEqual([3000]);
    expect(logs.find((l) => l.status === 429)).toMatchObject({ outcome: 'CONNECTOR_RATE_LIMITED', retryInMs: 3000 });
  });

  it('backs off a 429 without Retry-After (ThingsBoard itself sends none)', async () => {
    login(1);
    nock(BASE)
      .get(LIST)
      .query(true)
      .reply(429, tbError(429, 'Too many requests for current tenant!', 33))
      .get(LIST)
      .query(true)
      .reply(200, page([], false, 0));
    await readAll(connector());
    expect(clock.sleeps).toEqual([125]); // full jitter: 0.5 × the first 250 ms ceiling
  });

  it('retries a 500 on a device call with backoff and keeps the device', async () => {
    const t = pair(1).token;
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, page([device(D1, 'A1', 1)], false, 1));
    nock(BASE)
      .get(`/api/plugins/telemetry/DEVICE/${D1}/values/timeseries`)
      .query(true)
      .reply(500, tbError(500, 'Internal server error', 2));
    simpleValues(D1, t, '42', clock.now());
    const pages = await readAll(connector());
    expect((pages[0].records[0].payload as DevicePayload).timeseries.runCount.value).toBe('42');
    expect(clock.sleeps).toEqual([125]);
    expect(logs.filter((l) => l.url.includes('/values/timeseries')).map((l) => l.outcome)).toEqual(['CONNECTOR_UNAVAILABLE', 'ok']);
  });

  it('gives up after the configured attempts with a retryable error naming the device call', async () => {
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, page([device(D1, 'A1', 1)], false, 1));
    nock(BASE)
      .get(`/api/plugins/telemetry/DEVICE/${D1}/values/attributes/SERVER_SCOPE`)
      .query(true)
      .times(2)
      .reply(503, '<html><body>503 Service Unavailable</body></html>', { 'Content-Type': 'text/html' });
    const err = await rejection(readAll(connector({}, { retry: { maxAttempts: 2 } })));
    expect(err.code).toBe('CONNECTOR_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.path).toBe(`/api/plugins/telemetry/DEVICE/${D1}/values/attributes/SERVER_SCOPE`);
    expect(err.message).toContain('after 2 attempts');
    expect(err.vendorErrors).toBeUndefined(); // an HTML page is not a vendor message
  });

  it('reports a body that is not JSON as CONNECTOR_BAD_RESPONSE, without retrying', async () => {
    login(1);
    nock(BASE)
      .get(LIST)
      .query(true)
      .reply(200, '{"data":[{"id":{"entityType":"DEVICE","id":', { 'Content-Type': 'application/json' })
      .get(LIST)
      .query(true)
      .reply(200, page([], false, 0));
    const err = await rejection(readAll(connector()));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`GET ${LIST}`);
    expect(nock.pendingMocks()).toHaveLength(1);
  });

  it('reports JSON that is not a ThingsBoard page as CONNECTOR_BAD_RESPONSE, saying what was expected', async () => {
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, { devices: [] });
    const err = await rejection(readAll(connector()));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('not a page {data: [...], hasNext} (page 0)');
    expect(err.message).toContain('{"devices":[]}');
  });

  it('refuses a device id that is not a UUID instead of putting it into a path', async () => {
    login(1);
    nock(BASE)
      .get(LIST)
      .query(true)
      .reply(200, page([device('../../api/admin/settings', 'A1', 1)], false, 1));
    const err = await rejection(readAll(connector()));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('devices with {id: {id: <uuid>}, name} (page 0, item 0)');
  });

  it('puts only UUIDs into device paths, also when the client is called directly (write-back)', async () => {
    const err = await rejection(connector().client.saveDeviceAttributes('../../api/admin/settings', 'SERVER_SCOPE', { maintenance: true }));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('is not a UUID');
    expect(logs).toEqual([]); // nothing was sent, not even a login
  });
});

describe('secrets', () => {
  it('never shows the password (nor tokens) in errors, health results or log lines', async () => {
    const one = pair(1);
    nock(BASE).post('/api/auth/login').reply(401, tbError(401, 'Invalid username or password', 10));
    const c = connector();
    const health = await c.healthCheck();
    expect(health).toMatchObject({ ok: false, code: 'CONNECTOR_AUTH_FAILED' });
    expect(health.message).toContain('Invalid username or password');

    nock(BASE).post('/api/auth/login').reply(401, tbError(401, 'Invalid username or password', 10));
    const err = await rejection(readAll(c));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.retryable).toBe(false);

    // And on the happy path with a refresh, where tokens travel in bodies and headers.
    login(1);
    nock(BASE)
      .get(LIST)
      .query(true)
      .reply(401, tbError(401, 'Token has expired', 11))
      .post('/api/auth/token')
      .reply(200, pair(2))
      .get(LIST)
      .query(true)
      .reply(200, page([], false, 0));
    await readAll(c);

    const loginLog = logs.find((l) => l.url === '/api/auth/login');
    expect(loginLog?.requestBody).toEqual({ username: USER, password: '[REDACTED]' });
    expect(logs.find((l) => l.url === '/api/auth/token')?.requestBody).toEqual({ refreshToken: '[REDACTED]' });
    expect(logs.find((l) => l.url.startsWith(LIST))?.requestHeaders['X-Authorization']).toBe('[REDACTED]');
    const everything = JSON.stringify([health, err, err.toJSON(), err.message, err.stack, logs]);
    for (const secret of [PASSWORD, one.token, one.refreshToken, pair(2).token]) expect(everything).not.toContain(secret);
  });
});

describe('configuration', () => {
  it('names every problem of a bad entry at once, without I/O', () => {
    let error: unknown;
    try {
      createConnector(
        entry(
          { serialField: 'imei', pageSize: 0, attributeScope: 'TENANT_SCOPE', timeseriesKeys: ['a,b'], customerId: 'acme', colour: 'red' },
          { streams: { devices: {}, alarms: {} }, options: { region: 'eu' } },
        ),
        { env: ENV, clock },
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).code).toBe('CONNECTOR_MISCONFIGURED');
    expect((error as ConnectorError).message).toContain('streams.alarms: unknown stream');
    expect((error as ConnectorError).message).toContain('options.region: unknown option');

    try {
      createConnector(entry({ serialField: 'imei', pageSize: 0, attributeScope: 'TENANT_SCOPE', timeseriesKeys: ['a,b'], customerId: 'acme', colour: 'red' }), {
        env: ENV,
        clock,
      });
    } catch (err) {
      error = err;
    }
    const message = (error as ConnectorError).message;
    for (const part of ['serialField', 'pageSize', 'attributeScope', 'timeseriesKeys', 'customerId', 'colour']) expect(message).toContain(`streams.devices.${part}`);
  });

  it('needs both credentials, from the environment', () => {
    expect(() => createConnector(entry(), { env: { TB_USERNAME: USER }, clock })).toThrow(/credentials\.password needs environment variable TB_PASSWORD/);
    expect(() => createConnector(entry({}, { credentials: { username: { env: 'TB_USERNAME' } } }), { env: ENV, clock })).toThrow(
      /credentials\.password is required/,
    );
    expect(() =>
      createConnector(entry({}, { credentials: { apiKey: { env: 'TB_API_KEY' }, password: { env: 'TB_PASSWORD' }, token: { env: 'TB_USERNAME' } } }), { env: ENV, clock }),
    ).toThrow(/either apiKey or username and password.*credentials\.token: unknown credential/);
  });
});

describe('readMode entityQuery', () => {
  const FIND = '/api/entitiesQuery/find';
  const latestValues = [
    { type: 'SERVER_ATTRIBUTE', key: 'active' },
    { type: 'SERVER_ATTRIBUTE', key: 'lastActivityTime' },
    { type: 'TIME_SERIES', key: 'runCount' },
    { type: 'TIME_SERIES', key: 'faultCodes' },
    { type: 'TIME_SERIES', key: 'current_fw_version' },
  ];
  const query = (ids: string[]) => ({
    entityFilter: { type: 'entityList', entityType: 'DEVICE', entityList: ids },
    pageLink: { pageSize: ids.length, page: 0 },
    entityFields: [],
    latestValues,
    keyFilters: [],
  });
  /** An EntityData as ThingsBoard answers it: every latest value a string, {ts: 0, value: ""} for none. */
  const entityData = (id: string, latest: Record<string, Record<string, { ts: number; value: string }>>) => ({
    entityId: { entityType: 'DEVICE', id },
    readAttrs: true,
    readTs: true,
    latest,
    timeseries: {},
  });

  it('reads a page’s latest values with one query; typed attributes, string time series, placeholders and deleted devices skipped', async () => {
    const t = pair(1).token;
    const now = clock.now();
    login(1);
    nock(BASE)
      .get(LIST)
      .query({ pageSize: '2', page: '0' })
      .reply(200, page([device(D1, 'GA72H2305664204', 1_700_000_000_000), device(D2, 'GB35R2007511900', 1_700_000_100_000)], true, 3))
      .get(LIST)
      .query({ pageSize: '2', page: '1' })
      .reply(200, page([device(D3, 'DK20P2509578702', 1_700_000_200_000)], false, 3));
    nock(BASE)
      .post(FIND, query([D1, D2]))
      .matchHeader('x-authorization', `Bearer ${t}`)
      .reply(
        200,
        // D2 was deleted after it was listed: it is not in the answer.
        page(
          [
            entityData(D1, {
              SERVER_ATTRIBUTE: { active: { ts: now - 60_000, value: 'true' }, lastActivityTime: { ts: now - 30_000, value: String(now - 30_000) } },
              TIME_SERIES: { runCount: { ts: now - 30_000, value: '8960' }, faultCodes: { ts: now - 60_000, value: 'E1' }, current_fw_version: { ts: 0, value: '' } },
            }),
          ],
          false,
          1,
        ),
      )
      .post(FIND, query([D3]))
      .reply(200, page([entityData(D3, { SERVER_ATTRIBUTE: { active: { ts: 0, value: '' }, lastActivityTime: { ts: 0, value: '' } }, TIME_SERIES: {} })], false, 1));

    const pages = await readAll(connector({ readMode: 'entityQuery' }));
    expect(nock.pendingMocks()).toEqual([]);
    expect(pages.map((p) => [p.records.map((r) => r.externalId), p.hasMore])).toEqual([
      [[D1], true],
      [[D3], false],
    ]);
    expect(pages[0].records[0].payload).toEqual<DevicePayload>({
      serial: 'GA72H2305664204',
      serialField: 'name',
      device: device(D1, 'GA72H2305664204', 1_700_000_000_000) as DevicePayload['device'],
      attributes: { active: true, lastActivityTime: now - 30_000 },
      attributeTs: { active: now - 60_000, lastActivityTime: now - 30_000 },
      timeseries: { runCount: { ts: now - 30_000, value: '8960' }, faultCodes: { ts: now - 60_000, value: 'E1' } },
    });
    expect(pages[0].records[0].version).toBe(String(now - 30_000));
    expect(pages[1].records[0].payload).toMatchObject({ attributes: {}, attributeTs: {}, timeseries: {} });
    expect(pages[1].records[0].version).toBe('1700000200000');
  });

  it('asks for all three attribute types with attributeScope ANY and keeps the newest', async () => {
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, page([device(D1, 'A1', 1_700_000_000_000)], false, 1));
    const find = nock(BASE)
      .post(FIND, (b: { latestValues: Array<{ type: string; key: string }> }) =>
        JSON.stringify(b.latestValues) ===
        JSON.stringify([
          { type: 'CLIENT_ATTRIBUTE', key: 'active' },
          { type: 'SERVER_ATTRIBUTE', key: 'active' },
          { type: 'SHARED_ATTRIBUTE', key: 'active' },
        ]),
      )
      .reply(
        200,
        page([entityData(D1, { CLIENT_ATTRIBUTE: { active: { ts: 5, value: 'false' } }, SERVER_ATTRIBUTE: { active: { ts: 9, value: '{"a":1}' } }, SHARED_ATTRIBUTE: { active: { ts: 0, value: '' } } })], false, 1),
      );
    const [p] = await readAll(connector({ readMode: 'entityQuery', attributeScope: 'ANY', attributeKeys: ['active'], timeseriesKeys: [] }));
    expect(find.isDone()).toBe(true);
    expect(p.records[0].payload).toMatchObject({ attributes: { active: { a: 1 } }, attributeTs: { active: 9 } });
  });

  it('stops with CONNECTOR_BAD_RESPONSE when the query answers more than one page', async () => {
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, page([device(D1, 'A1', 1), device(D2, 'A2', 2)], false, 2));
    nock(BASE).post(FIND).reply(200, page([entityData(D1, {})], true, 2, 1));
    const err = await rejection(readAll(connector({ readMode: 'entityQuery' })));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('hasNext');
  });

  it('reports a ThingsBoard 400 for the query with its message', async () => {
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, page([device(D1, 'A1', 1)], false, 1));
    nock(BASE).post(FIND).reply(400, tbError(400, 'Invalid entity key', 31));
    const err = await rejection(readAll(connector({ readMode: 'entityQuery' })));
    expect(err.status).toBe(400);
    expect(err.message).toContain('Invalid entity key');
  });

  it("falls back to the per-device calls for '*' keys (a query names its keys)", async () => {
    const t = pair(1).token;
    login(1);
    nock(BASE).get(LIST).query(true).reply(200, page([device(D1, 'A1', 1)], false, 1));
    const attrs = nock(BASE).get(`/api/plugins/telemetry/DEVICE/${D1}/values/attributes/SERVER_SCOPE`).matchHeader('x-authorization', `Bearer ${t}`).reply(200, []);
    nock(BASE).get(`/api/plugins/telemetry/DEVICE/${D1}/values/timeseries`).query({ keys: TS_KEYS }).reply(200, {});
    await readAll(connector({ readMode: 'entityQuery', attributeKeys: '*' }));
    expect(attrs.isDone()).toBe(true);
  });

  it('is the default and refuses another readMode', () => {
    expect(DEFAULT_DEVICES_SETTINGS.readMode).toBe('entityQuery');
    expect(() => createConnector(entry({ readMode: 'bulk' }), { env: ENV, clock })).toThrow(/streams\.devices\.readMode: must be entityQuery or perDevice/);
  });
});
