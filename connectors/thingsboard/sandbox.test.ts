/**
 * End to end: the real connector (kit HTTP layer, real sockets) against the ThingsBoard sandbox on
 * a random port, and the default mapping applied to what it read. Time for the client is the
 * kit's fakeClock (waits are recorded, not slept); nothing asserts on elapsed time.
 */
import { ConnectorEntry, createConnector, fakeClock, FakeClock, SourcePage, SourceRecord } from '../../src/connectors';
import { DEMO_NOW, generateDemoDataset } from '../../src/demo/dataset';
import { MappingEngine } from '../../src/mapping/engine';
import './index'; // registers the connector type
import type { DevicePayload, ThingsBoardConnector } from './index';
import { buildThingsBoardSandboxData, SANDBOX_CUSTOMER_ID, ThingsBoardSandboxData } from './sandbox/data';
import { startThingsBoardSandbox, ThingsBoardSandbox } from './sandbox/server';

const USERNAME = 'svc-junction@acme.test';
const PASSWORD = 'Sandbox-Pa55word!';

let sandbox: ThingsBoardSandbox;
let data: ThingsBoardSandboxData;
let clock: FakeClock;
/** The sandbox's clock, under the test's control (token expiry, write timestamps). */
let serverNow: number;

function connector(devices: Record<string, unknown> = {}, extra: Partial<ConnectorEntry> = {}): ThingsBoardConnector {
  const entry: ConnectorEntry = {
    name: 'iot',
    type: 'thingsboard',
    baseUrl: sandbox.url,
    sandbox: true,
    credentials: { username: { value: USERNAME }, password: { value: PASSWORD } },
    streams: { devices: { pageSize: 10, concurrency: 4, readMode: 'perDevice', ...devices } },
    options: {},
    ...extra,
  };
  return createConnector(entry, { clock, random: () => 0.5 }) as ThingsBoardConnector;
}

async function readAll(c: ThingsBoardConnector, cursor: string | null = null): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const p of c.streams.devices.read(cursor)) pages.push(p);
  return pages;
}

const records = (pages: SourcePage[]): SourceRecord[] => pages.flatMap((p) => p.records);

/** The default mapping, through the real engine (helpers included). */
const engine = new MappingEngine();
const mapRecord = async (r: SourceRecord) =>
  (await engine.evaluate('thingsboard/devices', r.payload, { externalId: r.externalId, version: r.version, system: 'iot', connector: 'iot', stream: 'devices' })) as Array<
    Record<string, unknown>
  >;

beforeAll(async () => {
  serverNow = Date.parse(DEMO_NOW);
  const base = buildThingsBoardSandboxData();
  data = { ...base, users: [{ ...base.users[0], username: USERNAME, password: PASSWORD }] };
  sandbox = await startThingsBoardSandbox({ port: 0, data, now: () => serverNow });
});
afterAll(() => sandbox.close());
beforeEach(() => {
  clock = fakeClock(Date.parse(DEMO_NOW));
  sandbox.control.clearInjections();
  sandbox.control.resetStats();
});

describe('sandbox data', () => {
  it('is deterministic and tells the demo’s stories', () => {
    const demo = generateDemoDataset();
    const a = buildThingsBoardSandboxData();
    expect(buildThingsBoardSandboxData()).toEqual(a);
    const connected = demo.devices.filter((d) => d.iotId);
    expect(a.devices).toHaveLength(connected.length + 2);
    expect(a.devices.slice(0, connected.length).map((d) => d.device.id.id)).toEqual(connected.map((d) => d.iotId));
    // Serials typed the ways people type them.
    expect(a.devices.some((d) => d.device.name === d.device.name.toLowerCase() && /[a-z]/.test(d.device.name))).toBe(true);
    expect(a.devices.some((d) => d.device.name.includes(' '))).toBe(true);
    // A unit the ERP never sold, and one whose firmware moved on.
    expect(demo.devices.some((d) => d.serial === a.story.unsold.serial)).toBe(false);
    const mismatch = a.story.firmwareMismatch;
    expect(demo.devices.find((d) => d.serial === mismatch.serial)?.firmware).toBe(mismatch.erpFirmware);
    expect(mismatch.iotFirmware).not.toBe(mismatch.erpFirmware);
    // scale adds synthetic devices, deterministically.
    const big = buildThingsBoardSandboxData({ scale: 25 });
    expect(big.devices).toHaveLength(a.devices.length + 25);
    expect(buildThingsBoardSandboxData({ scale: 25 })).toEqual(big);
    expect(new Set(big.devices.map((d) => d.device.id.id)).size).toBe(big.devices.length);
  });
});

describe('connector against the sandbox', () => {
  it('reads every device once, and the mapping turns them into the demo’s telemetry', async () => {
    const c = connector();
    const pages = await readAll(c);
    const all = records(pages);
    expect(all).toHaveLength(data.devices.length);
    expect(new Set(all.map((r) => r.externalId)).size).toBe(data.devices.length);
    expect(pages.slice(0, -1).every((p) => p.hasMore)).toBe(true);
    expect(pages[pages.length - 1].hasMore).toBe(false);
    expect(sandbox.control.stats.logins).toBe(1);

    const demo = generateDemoDataset();
    const expected = new Map(demo.telemetry.map((t) => [t.serial, t]));
    const erpFirmware = new Map(demo.devices.map((d) => [d.serial, d.firmware]));
    const bySerial = new Map<string, Array<Record<string, unknown>>>();
    for (const r of all) {
      const out = await mapRecord(r);
      bySerial.set(out[0].serial as string, out);
    }
    for (const d of data.devices) expect(bySerial.has(d.serial!)).toBe(true);

    for (const [serial, t] of expected) {
      const [telemetry, device] = bySerial.get(serial)!;
      expect(telemetry).toMatchObject({ entity: 'telemetry', online: t.online, lastSeenAt: t.lastSeenAt, runCount: t.runCount, alerts: t.alerts });
      const firmware = serial === data.story.firmwareMismatch.serial ? data.story.firmwareMismatch.iotFirmware : erpFirmware.get(serial);
      expect(device).toEqual({ entity: 'device', serial, firmware });
    }
    expect(bySerial.get(data.story.firmwareMismatch.serial)![1].firmware).not.toBe(data.story.firmwareMismatch.erpFirmware);
    expect(expected.has(data.story.unsold.serial)).toBe(false);
    expect(bySerial.get(data.story.unsold.serial)![0]).toMatchObject({ online: true, runCount: 1312, alerts: [] });
    expect(bySerial.get('BENCH-TEST-01')).toEqual([{ entity: 'telemetry', serial: 'BENCH-TEST-01', online: false }]);
  });

  it('an incremental read reflects a changed device and leaves every other version as it was', async () => {
    const c = connector();
    const before = records(await readAll(c));
    const finalCursor = (await readAll(c)).pop()!.cursor;
    const target = data.devices[5];
    const old = before.find((r) => r.externalId === target.device.id.id)!;

    serverNow += 60_000; // a minute later the device reports again
    sandbox.control.setTelemetry(target.device.id.id, { runCount: 99_999, faultCodes: 'E1,F4' });
    sandbox.control.setAttributes(target.device.id.id, 'SERVER_SCOPE', { active: true, lastActivityTime: serverNow });
    const after = records(await readAll(c, finalCursor));

    expect(after).toHaveLength(before.length);
    const changed = after.filter((r) => r.version !== before.find((b) => b.externalId === r.externalId)?.version);
    expect(changed.map((r) => r.externalId)).toEqual([target.device.id.id]);
    expect(Number(changed[0].version)).toBe(serverNow);
    expect(Number(changed[0].version)).toBeGreaterThan(Number(old.version));
    const [telemetry] = await mapRecord(changed[0]);
    expect(telemetry).toMatchObject({ runCount: 99_999, alerts: ['E1', 'F4'], online: true, lastSeenAt: new Date(serverNow).toISOString() });
    // The silent device's requested-but-missing keys come back stamped "now": still not a change.
    expect(after.find((r) => r.externalId === data.story.silent.id)!.version).toBe(before.find((r) => r.externalId === data.story.silent.id)!.version);
  });

  it('finishes a scan through expired tokens, a 503 with Retry-After, a 429 and a 500', async () => {
    const c = connector({ pageSize: 20 });
    const it = c.streams.devices.read(null)[Symbol.asyncIterator]();
    const pages: SourcePage[] = [(await it.next()).value as SourcePage];
    sandbox.control.expireTokens();
    sandbox.control.failNext(1, 503, { path: '/api/tenant/devices', retryAfterSeconds: 2 });
    sandbox.control.failNext(1, 429, { path: '/values/timeseries', retryAfterSeconds: 1 });
    sandbox.control.failNext(1, 500, { path: '/values/attributes' });
    for (let r = await it.next(); !r.done; r = await it.next()) pages.push(r.value);

    expect(records(pages)).toHaveLength(data.devices.length);
    expect(sandbox.control.stats.refreshes).toBe(1);
    expect(sandbox.control.stats.logins).toBe(1);
    expect(clock.sleeps).toEqual(expect.arrayContaining([2000, 1000]));
    expect(clock.sleeps).toHaveLength(3);
    const statuses = sandbox.control.stats.requests.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(1);
    expect(statuses).toEqual(expect.arrayContaining([503, 429, 500]));
  });

  it('logs in again when the refresh token has lapsed too', async () => {
    const c = connector();
    await c.healthCheck();
    sandbox.control.expireRefreshTokens();
    expect(await c.healthCheck()).toMatchObject({ ok: true, details: { authority: 'TENANT_ADMIN' } });
    expect(sandbox.control.stats).toMatchObject({ logins: 2, refreshes: 0 });
    expect(sandbox.control.stats.requests.filter((r) => r.path === '/api/auth/token').map((r) => r.status)).toEqual([401]);
  });

  it('reports a truncated body as CONNECTOR_BAD_RESPONSE', async () => {
    sandbox.control.malformedNext(1, { path: '/api/tenant/devices' });
    await expect(readAll(connector())).rejects.toMatchObject({ code: 'CONNECTOR_BAD_RESPONSE', retryable: false });
  });

  it('keeps the per-device calls within the configured concurrency', async () => {
    const c = connector({ concurrency: 3, pageSize: 20 });
    await c.healthCheck(); // log in first, so only the device calls overlap
    sandbox.control.resetStats();
    sandbox.control.slowNext(6, 50, { path: '/values/' });
    const all = records(await readAll(c));
    expect(all).toHaveLength(data.devices.length);
    expect(sandbox.control.stats.maxInFlight).toBe(3);
  });

  it('reads only the customer’s devices when customerId is set', async () => {
    const all = records(await readAll(connector({ customerId: SANDBOX_CUSTOMER_ID })));
    const expected = data.devices.filter((d) => d.device.customerId?.id === SANDBOX_CUSTOMER_ID);
    expect(expected.length).toBeGreaterThan(0);
    expect(all.map((r) => r.externalId).sort()).toEqual(expected.map((d) => d.device.id.id).sort());
    expect(all.every((r) => (r.payload as DevicePayload).device.type === 'air-conditioner')).toBe(true);
  });

  it('accepts the write-back call: a maintenance attribute on the device', async () => {
    const c = connector();
    const id = data.story.firmwareMismatch.id;
    await c.client.saveDeviceAttributes(id, 'SERVER_SCOPE', { maintenanceTicket: 'T20261120-0001', maintenanceDue: '2026-11-21' });
    expect(sandbox.control.device(id)!.attributes.SERVER_SCOPE.maintenanceTicket).toEqual({ value: 'T20261120-0001', ts: serverNow });
    const [p] = await readAll(connector({ attributeKeys: ['maintenanceTicket'], timeseriesKeys: [], pageSize: 1000 }));
    const rec = p.records.find((r) => r.externalId === id)!;
    expect((rec.payload as DevicePayload).attributes).toEqual({ maintenanceTicket: 'T20261120-0001' });
  });

  it('refuses wrong credentials with ThingsBoard’s error, as CONNECTOR_AUTH_FAILED', async () => {
    const c = createConnector(
      {
        name: 'iot',
        type: 'thingsboard',
        baseUrl: sandbox.url,
        sandbox: true,
        credentials: { username: { value: USERNAME }, password: { value: 'wrong-password' } },
        streams: {},
        options: {},
      },
      { clock },
    );
    const health = await c.healthCheck();
    expect(health).toMatchObject({ ok: false, code: 'CONNECTOR_AUTH_FAILED' });
    expect(health.message).toContain('AUTHENTICATION: Invalid username or password');
    expect(health.message).not.toContain('wrong-password');
    expect(sandbox.control.stats.failedLogins).toBe(1);
  });
});

describe('readMode entityQuery (Entity Data Query) against the sandbox', () => {
  const settingsVariants: Array<Record<string, unknown>> = [
    {},
    { attributeScope: 'ANY', useStrictDataTypes: true },
    { attributeKeys: [], timeseriesKeys: ['runCount', 'noSuchKey'], pageSize: 3 },
  ];

  it.each(settingsVariants)('reads the same records and cursors as perDevice (%j)', async (settings) => {
    const perDevice = await readAll(connector({ ...settings, readMode: 'perDevice' }));
    sandbox.control.stats.requests.length = 0;
    const byQuery = await readAll(connector({ ...settings, readMode: 'entityQuery' }));
    expect(records(byQuery).length).toBe(data.devices.length);
    expect(byQuery).toEqual(perDevice);
    // No per-device call: one list call and one query per page.
    const paths = sandbox.control.stats.requests.map((r) => r.path);
    expect(paths.filter((p) => p.includes('/values/'))).toEqual([]);
    const lists = paths.filter((p) => p === '/api/tenant/devices').length;
    expect(lists).toBeGreaterThan(1);
    expect(paths.filter((p) => p === '/api/entitiesQuery/find')).toHaveLength(lists);
  });

  it('resumes from a perDevice cursor with the same pages', async () => {
    const first = (await readAll(connector({ readMode: 'perDevice' })))[0];
    const rest = async (readMode: string) => readAll(connector({ readMode }), first.cursor);
    expect(await rest('entityQuery')).toEqual(await rest('perDevice'));
  });

  async function find(body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const auth =
      token ??
      ((await (await fetch(`${sandbox.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: USERNAME, password: PASSWORD }) })).json()) as { token: string }).token;
    const res = await fetch(`${sandbox.url}/api/entitiesQuery/find`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-authorization': `Bearer ${auth}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('answers latest values as strings, {ts: 0, value: ""} for a key without data, pages by pageLink', async () => {
    const [d1, d2] = data.devices;
    const query = {
      entityFilter: { type: 'entityList', entityType: 'DEVICE', entityList: [d2.device.id.id, d1.device.id.id] },
      pageLink: { pageSize: 1, page: 0, sortOrder: { key: { type: 'ENTITY_FIELD', key: 'name' }, direction: 'ASC' } },
      entityFields: [{ type: 'ENTITY_FIELD', key: 'name' }],
      latestValues: [
        { type: 'SERVER_ATTRIBUTE', key: 'active' },
        { type: 'TIME_SERIES', key: 'runCount' },
        { type: 'TIME_SERIES', key: 'noSuchKey' },
      ],
      keyFilters: [],
    };
    const { status, body } = await find(query);
    expect(status).toBe(200);
    expect(body).toMatchObject({ totalElements: 2, totalPages: 2, hasNext: true });
    const first = [d1, d2].sort((a, b) => (a.device.name < b.device.name ? -1 : 1))[0];
    const [row] = body.data as Array<{ entityId: { id: string }; latest: Record<string, Record<string, { ts: number; value: unknown }>> }>;
    expect(row.entityId).toEqual({ entityType: 'DEVICE', id: first.device.id.id });
    expect(row.latest.ENTITY_FIELD.name).toEqual({ ts: 0, value: first.device.name });
    const active = first.attributes.SERVER_SCOPE.active;
    expect(row.latest.SERVER_ATTRIBUTE.active).toEqual(active ? { ts: active.ts, value: String(active.value) } : { ts: 0, value: '' });
    expect(row.latest.TIME_SERIES.runCount).toEqual({ ts: first.timeseries.runCount.ts, value: String(first.timeseries.runCount.value) });
    expect(row.latest.TIME_SERIES.noSuchKey).toEqual({ ts: 0, value: '' });
  });

  it('refuses bad queries with ThingsBoard’s error body', async () => {
    const ok = { entityFilter: { type: 'entityType', entityType: 'DEVICE' }, pageLink: { pageSize: 10, page: 0 } };
    const cases: Array<[unknown, string]> = [
      [{ pageLink: ok.pageLink }, 'Entity filter is required!'],
      [{ entityFilter: ok.entityFilter }, 'Page link is required!'],
      [{ ...ok, pageLink: { pageSize: 0, page: 0 } }, 'Page size must be greater than zero!'],
      [{ ...ok, entityFilter: { type: 'relationsQuery' } }, 'Unsupported entity filter type: relationsQuery'],
      [{ ...ok, entityFilter: { type: 'entityList', entityType: 'DEVICE', entityList: ['not-a-uuid'] } }, 'Invalid UUID string: not-a-uuid'],
      [{ ...ok, latestValues: [{ type: 'TELEMETRY', key: 'x' }] }, 'Invalid entity key: {"type":"TELEMETRY","key":"x"}'],
    ];
    for (const [body, message] of cases) {
      const res = await find(body);
      expect([res.status, res.body]).toEqual([400, { status: 400, message, errorCode: 31, timestamp: serverNow }]);
    }
    const noToken = await find(ok, 'not-a-token');
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ status: 401, errorCode: 10 });
  });
});
