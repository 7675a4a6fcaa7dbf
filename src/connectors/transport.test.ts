import axios from 'axios';
import http from 'http';
import type { AddressInfo } from 'net';
import nock from 'nock';
import zlib from 'zlib';
import { ConnectorError } from './errors';
import { createHttpClient, HttpClient, HttpClientOptions, HttpRequest } from './http';
import { buildUrl, envProxyConfigured, isJsonBody } from './transport';

/**
 * The direct transport (node:http) must put on the wire what axios puts there and return what
 * axios returns: the same requests go through a client forced onto axios and a default one, to a
 * real local server, and both sides are compared.
 */

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: http.Server;
let base: string;
let seen: Seen[] = [];
let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;

beforeAll(async () => {
  nock.enableNetConnect('127.0.0.1');
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: { ...req.headers }, body: Buffer.concat(chunks).toString('utf8') });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections(); // keep-alive sockets and the never-answered request
  await new Promise<void>((resolve) => server.close(() => resolve()));
  nock.enableNetConnect();
});
beforeEach(() => {
  seen = [];
  answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});
afterEach(() => jest.restoreAllMocks());

function clients(options: Partial<HttpClientOptions> = {}): { viaAxios: HttpClient; direct: HttpClient; axiosCalls: () => number } {
  const spy = jest.spyOn(axios.Axios.prototype, 'request');
  const common = { connector: 'crm', baseURL: `${base}/api/v1`, retry: { maxAttempts: 1 }, headers: { 'X-Client': 'junction' }, ...options };
  // The spy is taken before the clients exist: axios.create binds the prototype's request then.
  const viaAxios = createHttpClient({ ...common, directTransport: false });
  const direct = createHttpClient(common);
  return { viaAxios, direct, axiosCalls: () => spy.mock.calls.length };
}

// The server's Date header ticks between the axios call and the direct one: compare everything else.
function withoutDate(res: unknown): unknown {
  const headers = (res as { headers?: Record<string, unknown> } | null)?.headers;
  if (!headers || typeof headers !== 'object') return res;
  const { date: _date, ...rest } = headers;
  return { ...(res as object), headers: rest };
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: withoutDate(await p) };
  } catch (err) {
    if (!(err instanceof ConnectorError)) throw err;
    return { code: err.code, status: err.status, retryable: err.retryable, message: err.message.replace(/127\.0\.0\.1:\d+/g, 'HOST') };
  }
}

const REQUESTS: HttpRequest[] = [
  { method: 'GET', url: '/query', params: { q: "SELECT Id, Name FROM Account WHERE Name = 'a b' AND x < 3", limit: 200, flag: true, none: null, skip: undefined } },
  { method: 'GET', url: 'records/1?fields=a,b:c$d#frag', params: { 'page[size]': 5, emoji: 'é☃', plus: 'a+b&c=d/e?f' } },
  { method: 'GET', url: '' },
  { method: 'GET', url: "/files/a b/é/%41/it's/../x", params: { k: 'v' } },
  { method: 'POST', url: '/sobjects/Case', data: { Subject: 'Pump é', n: 1, nested: [1, { a: null }] } },
  { method: 'POST', url: '/empty' },
  { method: 'PUT', url: '/put', data: [1, 2, 3] },
  { method: 'PATCH', url: '/patch', data: {}, headers: { 'content-type': 'application/json; charset=utf-8' } },
  { method: 'DELETE', url: '/gone' },
  { method: 'DELETE', url: '/gone-with-body', data: { reason: 'x' } },
  { method: 'GET', url: '/headers', headers: { accept: 'text/plain', 'user-agent': 'custom/1', 'X-CLIENT': 'override', 'X-Trace': 'a b' } },
];

describe('direct transport sends what axios sends', () => {
  it.each(REQUESTS.map((r) => [`${r.method} ${r.url}`, r]))('%s', async (_name, req) => {
    const { viaAxios, direct, axiosCalls } = clients({ auth: { getToken: async () => ({ headers: { 'X-Authorization': 'Bearer t-1' } }) } });
    await viaAxios.request(req);
    expect(axiosCalls()).toBe(1);
    await direct.request(req);
    expect(axiosCalls()).toBe(1); // the direct client did not use axios
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
  });

  it('leaves to axios what it would send differently (form bodies, binary answers, odd header values)', async () => {
    const { direct, axiosCalls } = clients();
    await direct.post('/form', { a: 1 }, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    await direct.post('/text', 'a=1');
    await direct.get('/bin', { responseType: 'arraybuffer' });
    await direct.get('/blank', { headers: { 'X-Pad': ' padded ' } });
    expect(axiosCalls()).toBe(4);
    expect(seen[0].body).toBe('a=1');
  });
});

describe('direct transport returns what axios returns', () => {
  const ANSWERS: Array<[string, (req: http.IncomingMessage, res: http.ServerResponse) => void]> = [
    ['gzip', (_q, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(zlib.gzipSync('{"z":"gzip"}'))],
    ['zlib deflate', (_q, res) => res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateSync('{"z":"deflate"}'))],
    ['raw deflate', (_q, res) => res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateRawSync('{"z":"raw"}'))],
    ['brotli', (_q, res) => res.writeHead(200, { 'content-encoding': 'br' }).end(zlib.brotliCompressSync('{"z":"br"}'))],
    ['unknown encoding', (_q, res) => res.writeHead(200, { 'content-encoding': 'identity' }).end('{"z":1}')],
    ['corrupt gzip', (_q, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip')],
    ['204 claiming gzip', (_q, res) => res.writeHead(204, { 'content-encoding': 'gzip' }).end()],
    ['BOM', (_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('\ufeff{"bom":true}')],
    ['cookies and repeated headers', (_q, res) => res.writeHead(200, [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-Multi', 'x'], ['X-Multi', 'y']]).end('{}')],
    ['2xx not JSON', (_q, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>')],
    ['HTML 502', (_q, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>')],
    ['redirect', (_q, res) => res.writeHead(302, { location: 'http://elsewhere.test/' }).end()],
    ['429 Retry-After', (_q, res) => res.writeHead(429, { 'retry-after': '3' }).end('{"message":"slow down","errorCode":"LIMIT"}')],
    ['too big', (_q, res) => res.writeHead(200).end(JSON.stringify({ pad: 'x'.repeat(5000) }))],
    ['too big once inflated', (_q, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(JSON.stringify({ pad: 'x'.repeat(5000) })))],
    ['connection dropped', (req) => req.socket.destroy()],
    ['body cut short', (_q, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    }],
  ];

  it.each(ANSWERS)('%s', async (_name, reply) => {
    answer = reply;
    const { viaAxios, direct } = clients({ maxResponseBytes: 1000 });
    const a = await outcome(viaAxios.get('/x'));
    const d = await outcome(direct.get('/x'));
    expect(d).toEqual(a);
  });

  it('HEAD', async () => {
    answer = (_q, res) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': '20' }).end();
    const { viaAxios, direct } = clients();
    expect(await outcome(direct.request({ method: 'HEAD', url: '/h' }))).toEqual(await outcome(viaAxios.request({ method: 'HEAD', url: '/h' })));
  });

  it('times out the whole exchange like the axios path', async () => {
    answer = (_q, res) => {
      res.writeHead(200);
      res.write('{');
      setTimeout(() => res.end('}'), 300);
    };
    const { viaAxios, direct } = clients({ timeoutMs: 50 });
    const a = await outcome(viaAxios.get('/slow'));
    expect(a).toMatchObject({ code: 'CONNECTOR_TIMEOUT' });
    expect(await outcome(direct.get('/slow'))).toEqual(a);
  });

  it("stops at once with the caller's abort reason", async () => {
    answer = () => undefined; // never answers
    const { direct } = clients();
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    const p = direct.get('/hang', { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 20);
    await expect(p).rejects.toBe(reason);
  });
});

describe('helpers', () => {
  it('serialises params exactly as axios does', () => {
    const cases: Array<[string, Record<string, string | number | boolean | null | undefined>]> = [
      ['/p', { q: "SELECT Id FROM A WHERE N = 'x y'", a: 'a:b$c,d e+f&g=h/i?j#k', n: 0, t: false, u: undefined, z: null }],
      ['/p?x=1', { y: '[]{}|\\^`"<>!~*()' }],
      ['/p#frag', { y: 'é☃' }],
      ['/p#frag', {}],
    ];
    for (const [url, params] of cases) expect(buildUrl(url, params)).toBe(axios.getUri({ url, params }));
  });

  it('recognises the bodies axios sends as JSON', () => {
    expect([undefined, {}, [], { a: 1 }, Object.create(null)].map(isJsonBody)).toEqual([true, true, true, true, true]);
    expect([null, 'a=1', 1, Buffer.from('x'), new URLSearchParams('a=1'), new Date(), new Map()].map(isJsonBody)).toEqual([false, false, false, false, false, false, false]);
  });

  it('sees proxies configured in the environment (axios then sends everything)', () => {
    expect(envProxyConfigured({})).toBe(false);
    expect(envProxyConfigured({ HTTPS_PROXY: 'http://proxy:3128' })).toBe(true);
    expect(envProxyConfigured({ http_proxy: 'proxy:3128' })).toBe(true);
  });
});
