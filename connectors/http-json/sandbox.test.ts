/**
 * The http-json sandbox as the connector sees it (no nock): documents stored once per
 * Idempotency-Key (a repeat gets the first answer again, Idempotent-Replayed), listed by path, a token enforced,
 * injected failures answered and not stored.
 */
import { ConnectorError, createConnector, fakeClock } from '../../src/connectors';
import './index';
import type { HttpJsonConnector } from './index';
import { HttpJsonSandbox, startHttpJsonSandbox } from './sandbox/server';

let sb: HttpJsonSandbox;
const connector = (token: string) => createConnector({
  name: 'mes', type: 'http-json', baseUrl: `${sb.url}/api`, sandbox: true, credentials: { token: { value: token } }, streams: {}, options: { path: '/devices' },
}, { clock: fakeClock(), logger: () => undefined }) as HttpJsonConnector;

beforeAll(async () => {
  sb = await startHttpJsonSandbox({ token: 'tok' });
});
afterAll(() => sb.close());

it('stores a document once per key, lists it by path, refuses a wrong token and injected failures', async () => {
  const c = connector('tok');
  expect(await c.healthCheck()).toMatchObject({ ok: true });
  const first = await c.write!.post({ serialNo: 'SN1' }, { idempotencyKey: 'k1' });
  expect(first.externalId).toMatch(/^DOC-/);
  // A repeat gets the first answer again, marked as replayed; the same key with another document is refused.
  expect(await c.write!.post({ serialNo: 'SN1' }, { idempotencyKey: 'k1' })).toEqual({ externalId: first.externalId, duplicate: true });
  await expect(c.write!.post({ serialNo: 'SN9' }, { idempotencyKey: 'k1' })).rejects.toMatchObject({ code: 'CONNECTOR_REQUEST_REJECTED' });
  expect(sb.control.received('/api/devices').map((d) => [d.idempotencyKey, d.body])).toEqual([['k1', { serialNo: 'SN1' }]]);
  expect((await c.http.get<{ documents: unknown[] }>('/devices')).data.documents).toHaveLength(1);
  expect(sb.control.effects.count('k1')).toBe(1);

  await expect(connector('wrong').write!.post({ a: 1 }, { idempotencyKey: 'k2' })).rejects.toMatchObject({ code: 'CONNECTOR_AUTH_FAILED' });
  sb.control.failNext(1, 422, { body: { message: 'unknown model' } });
  const e = (await c.write!.post({ a: 1 }, { idempotencyKey: 'k3' }).catch((x: ConnectorError) => x)) as ConnectorError;
  expect(e).toMatchObject({ code: 'CONNECTOR_REQUEST_REJECTED' });
  expect(e.message).toMatch(/unknown model/);
  expect(sb.control.received()).toHaveLength(1);
});
