/**
 * The http-json connector against nock: the document goes out as a POST with its Idempotency-Key
 * and credentials; 2xx = applied (Idempotent-Replayed = a duplicate), 409 / 429 / 5xx = retryable for the
 * write-back queue (one attempt each: the queue owns retries), other 4xx = refused with the
 * target's message; bad config is refused with every problem named; secrets never logged.
 */
import nock from 'nock';
import { ConnectorEntry, ConnectorError, createConnector, fakeClock, HttpLogEntry } from '../../src/connectors';
import './index';
import type { HttpJsonConnector } from './index';

const BASE = 'https://mes.acme.test';
const TOKEN = 'mes-t0ken-value-xyz';
const ENV = { MES_TOKEN: TOKEN, MES_USER: 'junction', MES_PASSWORD: 'p4ss-w0rd' };
const ctx = { idempotencyKey: 'junction-wb-42' };
let logs: HttpLogEntry[];

function connector(extra: Partial<ConnectorEntry> = {}): HttpJsonConnector {
  const entry: ConnectorEntry = {
    name: 'mes', type: 'http-json', baseUrl: `${BASE}/api`, sandbox: false,
    credentials: { token: { env: 'MES_TOKEN' } }, streams: {}, options: { path: '/devices' }, ...extra,
  };
  return createConnector(entry, { env: ENV, clock: fakeClock(), logger: (e) => logs.push(e), random: () => 0.5 }) as HttpJsonConnector;
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(() => {
  logs = [];
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('http-json writes', () => {
  it('POSTs the document with its Idempotency-Key and bearer token; 2xx is applied with the id the target gave', async () => {
    nock(BASE, { reqheaders: { authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'junction-wb-42', 'content-type': /application\/json/ } })
      .post('/api/devices', { serial: 'SN1', model: 'KFR' })
      .reply(201, { id: 'MES-7' });
    const r = await connector().write!.post({ serial: 'SN1', model: 'KFR' }, ctx);
    expect(r).toEqual({ externalId: 'MES-7' });
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it('Basic credentials; a 2xx without a JSON body still counts as applied', async () => {
    nock(BASE, { reqheaders: { authorization: `Basic ${Buffer.from('junction:p4ss-w0rd').toString('base64')}` } })
      .post('/api/documents').reply(200, 'OK', { 'Content-Type': 'text/plain' });
    const c = connector({ credentials: { username: { env: 'MES_USER' }, password: { env: 'MES_PASSWORD' } }, options: {} });
    expect(await c.write!.post({ a: 1 }, ctx)).toEqual({ externalId: 'junction-wb-42' });
  });

  it('a repeat answered with the first answer (Idempotent-Replayed) is a duplicate, not an error', async () => {
    nock(BASE).post('/api/devices').reply(201, { id: 'DOC-7' }, { 'Idempotent-Replayed': 'true' });
    expect(await connector().write!.post({ a: 1 }, ctx)).toEqual({ externalId: 'DOC-7', duplicate: true });
  });

  it('409 (the first request with this key still in progress there) is retryable; 422 (key reused with another document) is refused', async () => {
    nock(BASE).post('/api/devices').reply(409, { message: 'in progress' });
    const busy = await connector().write!.post({ a: 1 }, ctx).catch((e: ConnectorError) => e);
    expect(busy).toMatchObject({ code: 'CONNECTOR_UNAVAILABLE', status: 409 });
    nock(BASE).post('/api/devices').reply(422, { message: 'Idempotency-Key junction-wb-42 was used for another document' });
    const reused = await connector().write!.post({ a: 2 }, ctx).catch((e: ConnectorError) => e);
    expect(reused).toMatchObject({ code: 'CONNECTOR_REQUEST_REJECTED' });
  });

  it('429 and 5xx are retryable errors after one attempt (the queue retries); 429 carries Retry-After', async () => {
    nock(BASE).post('/api/devices').reply(429, { message: 'slow down' }, { 'Retry-After': '7' });
    const limited = await connector().write!.post({ a: 1 }, ctx).catch((e: ConnectorError) => e);
    expect(limited).toMatchObject({ code: 'CONNECTOR_RATE_LIMITED', retryable: true, retryAfterMs: 7000 });
    nock(BASE).post('/api/devices').reply(503, { message: 'MES maintenance' });
    const down = await connector().write!.post({ a: 1 }, ctx).catch((e: ConnectorError) => e);
    expect(down).toMatchObject({ code: 'CONNECTOR_UNAVAILABLE', retryable: true });
  });

  it('other 4xx are refused with the target\'s message', async () => {
    nock(BASE).post('/api/devices').reply(422, { message: 'unknown model KFR-X', code: 'MODEL' });
    const e = (await connector().write!.post({ a: 1 }, ctx).catch((x: ConnectorError) => x)) as ConnectorError;
    expect(e).toMatchObject({ code: 'CONNECTOR_REQUEST_REJECTED', retryable: false, status: 422 });
    expect(e.message).toMatch(/unknown model KFR-X/);
  });

  it('named operations POST to their own paths; a non-object payload is refused before sending', async () => {
    nock(BASE).post('/api/customers').reply(201, { id: 'C-1' });
    const c = connector({ options: { path: '/devices', operations: { customers: { path: '/customers' } } } });
    expect(Object.keys(c.write!).sort()).toEqual(['customers', 'post']);
    expect(await c.write!.customers({ phone: '+86' }, ctx)).toEqual({ externalId: 'C-1' });
    await expect(c.write!.post('text', ctx)).rejects.toMatchObject({ code: 'CONNECTOR_REQUEST_REJECTED' });
  });
});

describe('http-json config and health', () => {
  it('refuses bad options and credentials, naming each', () => {
    expect(() => connector({ options: { path: 'https://evil.test/x', colour: 'red' }, credentials: { token: { env: 'MES_TOKEN' }, username: { env: 'MES_USER' } } }))
      .toThrow(/either token or username.*options\.colour: unknown option.*options\.path must be a path/s);
    expect(() => connector({ streams: { devices: {} } })).toThrow(/write target only/);
  });

  it('healthCheck: GET healthPath; a refusal is ok: false with its code, never a throw', async () => {
    nock(BASE).get('/api/health').reply(200, 'UP');
    expect(await connector().healthCheck()).toMatchObject({ ok: true });
    nock(BASE).get('/api/ping').times(2).reply(401, { message: 'bad token' });
    expect(await connector({ options: { healthPath: '/ping' } }).healthCheck()).toMatchObject({ ok: false, code: 'CONNECTOR_AUTH_FAILED' });
  });
});
