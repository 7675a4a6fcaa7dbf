import http from 'http';
import type { AddressInfo } from 'net';
import nock from 'nock';
import { ConnectorError } from './errors';
import { createHttpClient, HttpClientOptions, HttpLogEntry } from './http';
import * as redactModule from './redact';
import { fakeClock, FakeClock } from './test-clock';

const BASE = 'https://acme.my.salesforce.test';
const QUERY = '/services/data/v59.0/query';

let clock: FakeClock;

function client(options: Partial<HttpClientOptions> = {}) {
  return createHttpClient({
    connector: 'crm',
    baseURL: BASE,
    clock,
    random: () => 0.999,
    retry: { baseDelayMs: 100, maxDelayMs: 10_000 },
    logger: () => undefined,
    ...options,
  });
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  }
  throw new Error('expected the request to fail');
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(() => {
  clock = fakeClock();
});
afterEach(() => {
  nock.abortPendingRequests(); // drops the timers of delayed replies a timed-out request left behind
  nock.cleanAll();
});

describe('retries', () => {
  it('retries a 500 with exponential backoff and full jitter, then succeeds', async () => {
    const scope = nock(BASE).get(QUERY).times(3).reply(500, 'oops').get(QUERY).reply(200, { totalSize: 1 });
    const res = await client().get<{ totalSize: number }>(QUERY);
    expect(res.data).toEqual({ totalSize: 1 });
    expect(scope.isDone()).toBe(true);
    // random 0.999 of ceilings 100, 200, 400
    expect(clock.sleeps).toEqual([99, 199, 399]);
  });

  it('draws the delay uniformly below the ceiling (full jitter)', async () => {
    nock(BASE).get(QUERY).reply(502).get(QUERY).reply(200, {});
    await client({ random: () => 0.25 }).get(QUERY);
    expect(clock.sleeps).toEqual([25]);
  });

  it('does not retry a 400 and reports the vendor error with where it happened', async () => {
    nock(BASE)
      .get(QUERY)
      .query(true)
      .reply(400, [{ errorCode: 'MALFORMED_QUERY', message: "unexpected token: 'FORM'" }])
      .get(QUERY)
      .query(true)
      .reply(200, {});
    const err = await rejection(client().get(QUERY, { params: { q: 'SELECT Id FORM Account' } }));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(400);
    expect(err.connector).toBe('crm');
    expect(err.vendorErrors).toEqual([{ code: 'MALFORMED_QUERY', message: "unexpected token: 'FORM'" }]);
    expect(err.message).toContain(`crm: GET ${QUERY}`);
    expect(err.message).toContain("MALFORMED_QUERY: unexpected token: 'FORM'");
    expect(nock.pendingMocks()).toHaveLength(1); // the 200 was never asked for
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up after maxAttempts with a retryable CONNECTOR_UNAVAILABLE', async () => {
    const scope = nock(BASE).get(QUERY).times(2).reply(503);
    const err = await rejection(client({ retry: { maxAttempts: 2, baseDelayMs: 1 } }).get(QUERY));
    expect(err.code).toBe('CONNECTOR_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('after 2 attempts');
    expect(scope.isDone()).toBe(true);
  });

  it('does not retry 501 Not Implemented', async () => {
    nock(BASE).get(QUERY).reply(501).get(QUERY).reply(200, {});
    const err = await rejection(client().get(QUERY));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(nock.pendingMocks()).toHaveLength(1);
  });

  it('retries network errors', async () => {
    // A real socket reset from a local server (nock's replyWithError can also emit the error on an
    // unlistened mock socket under load, which jest reports as unhandled).
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests += 1;
      if (requests === 1) req.socket.destroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: 1 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    nock.enableNetConnect('127.0.0.1');
    try {
      const outcomes: string[] = [];
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await client({ baseURL: base, logger: (e) => outcomes.push(e.outcome) }).get(QUERY);
      expect(res.data).toEqual({ ok: 1 });
      expect(outcomes).toEqual(['CONNECTOR_UNAVAILABLE', 'ok']);
      expect(clock.sleeps).toHaveLength(1);
      expect(requests).toBe(2);
    } finally {
      nock.disableNetConnect();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it.each([['direct transport', true], ['axios', false]])('retries a response cut off part way through its body (%s)', async (_name, directTransport) => {
    // Headers and half the body, then the connection drops (a proxy or load balancer cutting a page).
    let requests = 0;
    const body = JSON.stringify({ records: Array.from({ length: 200 }, (_, i) => ({ Id: `001${i}` })) });
    const server = http.createServer((req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      if (requests === 1) res.write(body.slice(0, 100), () => req.socket.destroy());
      else res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    nock.enableNetConnect('127.0.0.1');
    try {
      const outcomes: string[] = [];
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await client({ baseURL: base, directTransport, logger: (e) => outcomes.push(e.outcome) }).get<{ records: unknown[] }>(QUERY);
      expect(res.data.records).toHaveLength(200);
      expect(outcomes).toEqual(['CONNECTOR_UNAVAILABLE', 'ok']);
      expect(requests).toBe(2);

      requests = 0; // every attempt cut off: a retryable failure naming what happened
      server.removeAllListeners('request');
      server.on('request', (req: http.IncomingMessage, r: http.ServerResponse) => {
        requests += 1;
        r.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        r.write(body.slice(0, 100), () => req.socket.destroy());
      });
      const err = await rejection(client({ baseURL: base, directTransport, retry: { maxAttempts: 2, baseDelayMs: 1 } }).get(QUERY));
      expect(err.code).toBe('CONNECTOR_UNAVAILABLE');
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/closed before the whole response arrived/);
      expect(requests).toBe(2);
    } finally {
      nock.disableNetConnect();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('does not resend a POST unless the caller marks it idempotent', async () => {
    nock(BASE).post('/sobjects/Case').reply(500).post('/sobjects/Case').reply(201, { id: '1' });
    const err = await rejection(client().post('/sobjects/Case', { Subject: 'x' }));
    expect(err.code).toBe('CONNECTOR_UNAVAILABLE');
    expect(nock.pendingMocks()).toHaveLength(1);

    nock.cleanAll();
    nock(BASE).patch('/sobjects/Case/1').reply(500).patch('/sobjects/Case/1').reply(204);
    const res = await client().patch('/sobjects/Case/1', { Subject: 'y' }, { idempotent: true });
    expect(res.status).toBe(204);
    expect(nock.pendingMocks()).toHaveLength(0);
  });
});

describe('Retry-After', () => {
  it('waits the seconds a 429 asks for', async () => {
    nock(BASE).get(QUERY).reply(429, {}, { 'Retry-After': '1' }).get(QUERY).reply(200, {});
    await client().get(QUERY);
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(1000);
  });

  it('understands the HTTP-date form on a 503', async () => {
    const at = new Date(clock.now() + 5000).toUTCString();
    nock(BASE).get(QUERY).reply(503, 'busy', { 'Retry-After': at }).get(QUERY).reply(200, {});
    await client().get(QUERY);
    expect(clock.sleeps).toEqual([5000]);
  });

  it('does not sit out a wait longer than maxRetryAfterMs: fails at once with retryAfterMs for the queue', async () => {
    nock(BASE).get(QUERY).reply(429, {}, { 'Retry-After': '120' }).get(QUERY).reply(200, {});
    const err = await rejection(client({ retry: { maxRetryAfterMs: 60_000 } }).get(QUERY));
    expect(err.code).toBe('CONNECTOR_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(120_000);
    expect(clock.sleeps).toEqual([]);
    expect(nock.pendingMocks()).toHaveLength(1);
  });
});

describe('timeouts', () => {
  it('retries a request that times out, then fails with CONNECTOR_TIMEOUT', async () => {
    const scope = nock(BASE).get(QUERY).times(3).delay(2000).reply(200, {});
    const err = await rejection(client({ timeoutMs: 25, retry: { maxAttempts: 3, baseDelayMs: 1 } }).get(QUERY));
    expect(err.code).toBe('CONNECTOR_TIMEOUT');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('within 25 ms');
    expect(err.message).toContain('after 3 attempts');
    expect(scope.isDone()).toBe(true);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('stops at once when the caller aborts', async () => {
    nock(BASE).get(QUERY).delay(2000).reply(200, {});
    const ac = new AbortController();
    const p = client().get(QUERY, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('shutdown')), 5);
    await expect(p).rejects.toThrow('shutdown');
    expect(clock.sleeps).toEqual([]);
  });
});

describe('re-authentication', () => {
  function tokens(...values: string[]) {
    const strategy = {
      calls: 0,
      invalidations: 0,
      async getToken() {
        await new Promise((r) => setImmediate(r)); // a real login takes a moment
        return values[Math.min(strategy.calls++, values.length - 1)];
      },
      invalidate() {
        strategy.invalidations++;
      },
    };
    return strategy;
  }

  it('logs in again once on an expired session and succeeds', async () => {
    const auth = tokens('tok1', 'tok2');
    nock(BASE)
      .get(QUERY)
      .matchHeader('authorization', 'Bearer tok1')
      .reply(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }])
      .get(QUERY)
      .matchHeader('authorization', 'Bearer tok2')
      .reply(200, { done: true });
    const res = await client({ auth }).get(QUERY);
    expect(res.data).toEqual({ done: true });
    expect(auth.calls).toBe(2);
    expect(auth.invalidations).toBe(1);
    expect(clock.sleeps).toEqual([]); // re-login is not a backoff retry
  });

  it('tries exactly once: a second refusal is CONNECTOR_AUTH_FAILED', async () => {
    const auth = tokens('tok1', 'tok2', 'tok3');
    nock(BASE).get(QUERY).times(3).reply(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }]);
    const err = await rejection(client({ auth }).get(QUERY));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.vendorErrors?.[0].code).toBe('INVALID_SESSION_ID');
    expect(auth.calls).toBe(2);
    expect(nock.pendingMocks()).toHaveLength(1);
  });

  it('lets the connector recognise a session error in a 200 body (Kingdee)', async () => {
    const strategy = tokens('s1', 's2');
    const kingdee = {
      getToken: async () => ({ headers: { Cookie: `kdservice-sessionid=${await strategy.getToken()}` } }),
      isAuthFailure: (r: { data: unknown }) => (r.data as { Result?: { ResponseStatus?: { MsgCode?: number } } })?.Result?.ResponseStatus?.MsgCode === 1,
    };
    nock(BASE)
      .post('/k3cloud/ExecuteBillQuery.common.kdsvc')
      .matchHeader('cookie', 'kdservice-sessionid=s1')
      .reply(200, { Result: { ResponseStatus: { IsSuccess: false, MsgCode: 1, Errors: [{ Message: '会话信息已丢失' }] } } })
      .post('/k3cloud/ExecuteBillQuery.common.kdsvc')
      .matchHeader('cookie', 'kdservice-sessionid=s2')
      .reply(200, [['CUST-1', 'Acme']]);
    const res = await client({ auth: kingdee }).post('/k3cloud/ExecuteBillQuery.common.kdsvc', { data: {} }, { idempotent: true });
    expect(res.data).toEqual([['CUST-1', 'Acme']]);
    expect(strategy.calls).toBe(2);
  });

  it('shares one in-flight token fetch between concurrent requests', async () => {
    const auth = tokens('tok1');
    const scope = nock(BASE).get(/\/sobjects\/Account\/\d/).times(5).matchHeader('authorization', 'Bearer tok1').reply(200, {});
    const http = client({ auth });
    await Promise.all([1, 2, 3, 4, 5].map((i) => http.get(`/sobjects/Account/${i}`)));
    expect(auth.calls).toBe(1);
    expect(scope.isDone()).toBe(true);
  });

  it('re-logs in once when concurrent requests are refused with the same stale token', async () => {
    const auth = tokens('tok1', 'tok2', 'tok3');
    nock(BASE).get(/\/sobjects\/Account\/\d/).times(3).matchHeader('authorization', 'Bearer tok1').delay(10).reply(401);
    nock(BASE).get(/\/sobjects\/Account\/\d/).times(3).matchHeader('authorization', 'Bearer tok2').reply(200, {});
    const http = client({ auth });
    await Promise.all([1, 2, 3].map((i) => http.get(`/sobjects/Account/${i}`)));
    expect(auth.calls).toBe(2);
    expect(auth.invalidations).toBe(1);
  });

  it('sends the login call itself without auth, and reports a refused login as CONNECTOR_AUTH_FAILED', async () => {
    const auth = {
      getToken: async () => {
        const r = await http.post<{ access_token: string }>('/services/oauth2/token', 'grant_type=client_credentials&client_secret=s3cr3t', { auth: false });
        return r.data.access_token;
      },
    };
    const http = client({ auth });
    nock(BASE).post('/services/oauth2/token').reply(400, { error: 'invalid_client', error_description: 'invalid client credentials' });
    const err = await rejection(http.get(QUERY));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.vendorErrors).toEqual([{ code: 'invalid_client', message: 'invalid client credentials' }]);
    expect(err.message).not.toContain('s3cr3t');
  });
});

describe('re-authentication through the same paced client', () => {
  it('logs out and in again through the client even with one request in flight at most', async () => {
    const calls: string[] = [];
    const auth = {
      getToken: async () => (await http.post<{ token: string }>('/api/auth/login', { username: 'u', password: 'p' }, { auth: false })).data.token,
      invalidate: async () => {
        calls.push('logout');
        await http.post('/api/auth/logout', undefined, { auth: false });
      },
    };
    const http = client({ auth, rateLimit: { maxConcurrent: 1 } });
    nock(BASE)
      .post('/api/auth/login')
      .reply(200, { token: 'jwt1' })
      .get('/api/tenant/devices')
      .matchHeader('authorization', 'Bearer jwt1')
      .reply(401, { status: 401, message: 'Token has expired', errorCode: 11 })
      .post('/api/auth/logout')
      .reply(200)
      .post('/api/auth/login')
      .reply(200, { token: 'jwt2' })
      .get('/api/tenant/devices')
      .matchHeader('authorization', 'Bearer jwt2')
      .reply(200, { data: [] });
    const res = await http.get('/api/tenant/devices');
    expect(res.data).toEqual({ data: [] });
    expect(calls).toEqual(['logout']);
    expect(nock.pendingMocks()).toEqual([]);
  });
});

describe('only paths on the configured host', () => {
  it('refuses absolute and protocol-relative URLs before sending anything', async () => {
    const http = client();
    for (const url of ['https://evil.test/x', 'http://169.254.169.254/latest/meta-data', '//evil.test/x', '\\\\evil.test/x']) {
      const err = await rejection(http.get(url));
      expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    }
  });

  it('follows a vendor next-page path against the origin when the base URL has a path', async () => {
    const next = '/services/data/v59.0/query/01gD0000002HU6KIAW-2000';
    const scope = nock(BASE).get(next).reply(200, { done: true });
    const http = client({ baseURL: `${BASE}/services/data/v59.0` });
    const res = await http.get(next, { relativeTo: 'origin' });
    expect(res.data).toEqual({ done: true });
    expect(scope.isDone()).toBe(true);
  });

  it('does not follow redirects', async () => {
    nock(BASE).get(QUERY).reply(302, '', { Location: 'https://evil.test/' });
    const err = await rejection(client().get(QUERY));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.status).toBe(302);
  });
});

describe('responses', () => {
  it('fails a 2xx body that is not JSON, but keeps a 5xx HTML page a retryable 5xx', async () => {
    nock(BASE).get(QUERY).reply(200, '<html>login</html>', { 'Content-Type': 'text/html' });
    const bad = await rejection(client().get(QUERY));
    expect(bad.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(bad.message).toContain('text/html');

    nock(BASE).get(QUERY).reply(502, '<html>bad gateway</html>').get(QUERY).reply(200, { ok: true });
    const res = await client().get(QUERY);
    expect(res.data).toEqual({ ok: true });
  });

  it('lets a connector classify a failure hidden in a 200 body, with its vendor errors', async () => {
    nock(BASE).post('/k3cloud/Save.common.kdsvc').reply(200, { Result: { ResponseStatus: { IsSuccess: false, Errors: [{ FieldName: 'FNumber', Message: '编码重复' }] } } });
    type Body = { Result?: { ResponseStatus?: { IsSuccess: boolean; Errors: Array<{ FieldName: string; Message: string }> } } };
    const http = client({
      classify: (r) => ((r.data as Body)?.Result?.ResponseStatus?.IsSuccess === false ? { code: 'CONNECTOR_REQUEST_REJECTED' } : undefined),
      vendorErrors: (r) => (r.data as Body)?.Result?.ResponseStatus?.Errors.map((e) => ({ message: e.Message, field: e.FieldName })),
    });
    const err = await rejection(http.post('/k3cloud/Save.common.kdsvc', {}));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.status).toBe(200);
    expect(err.vendorErrors).toEqual([{ message: '编码重复', field: 'FNumber' }]);
  });

  it('maps 409/412 to CONNECTOR_CONFLICT (re-read, do not retry)', async () => {
    nock(BASE).patch('/sobjects/Case/1').reply(412, [{ errorCode: 'PRECONDITION_FAILED', message: 'changed' }]);
    const err = await rejection(client().patch('/sobjects/Case/1', {}, { idempotent: true }));
    expect(err.code).toBe('CONNECTOR_CONFLICT');
    expect(err.retryable).toBe(false);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('rate limit through the client', () => {
  it('spaces requests by the configured rate', async () => {
    nock(BASE).get(QUERY).times(3).reply(200, {});
    const http = client({ rateLimit: { requestsPerSecond: 5 } });
    for (let i = 0; i < 3; i++) await http.get(QUERY);
    expect(clock.sleeps).toEqual([200, 200]);
  });
});

describe('logging', () => {
  it('logs every attempt with secrets redacted from headers, query and body', async () => {
    const entries: HttpLogEntry[] = [];
    nock(BASE).post('/login').query(true).reply(500).post('/login').query(true).reply(200, {});
    const http = client({ logger: (e) => entries.push(e), auth: { getToken: async () => 'BEARER-SECRET-1' } });
    await http.post(
      '/login',
      { username: 'ops', password: 'hunter2', nested: { client_secret: 'CS-42' } },
      { params: { api_key: 'AK-9', page: 2 }, headers: { 'X-Session-Id': 'SID-7' }, idempotent: true },
    );
    expect(entries.map((e) => [e.attempt, e.status, e.outcome])).toEqual([
      [1, 500, 'CONNECTOR_UNAVAILABLE'],
      [2, 200, 'ok'],
    ]);
    const text = JSON.stringify(entries);
    for (const secret of ['BEARER-SECRET-1', 'hunter2', 'CS-42', 'AK-9', 'SID-7']) expect(text).not.toContain(secret);
    expect(entries[0].requestHeaders.Authorization).toBe('[REDACTED]');
    expect(entries[0].url).toBe('/login?api_key=[REDACTED]&page=2');
    expect(entries[0].requestBody).toEqual({ username: 'ops', password: '[REDACTED]', nested: { client_secret: '[REDACTED]' } });
    expect(entries[0].retryInMs).toBe(99);
  });

  it('redacts a field when the logger first reads it, once, and never exposes the raw value', async () => {
    const redactSpy = jest.spyOn(redactModule, 'redact');
    const entries: HttpLogEntry[] = [];
    nock(BASE).post('/login').query(true).reply(200, {});
    await client({ logger: (e) => entries.push(e), auth: { getToken: async () => 'BEARER-SECRET-2' } }).post('/login', { password: 'hunter3' }, { params: { token: 'TK-1' } });
    expect(entries[0].outcome).toBe('ok');
    expect(redactSpy).not.toHaveBeenCalled(); // nothing redacted for a logger that only looked at the outcome
    expect(Object.keys(entries[0])).toEqual(['connector', 'method', 'url', 'attempt', 'status', 'outcome', 'retryInMs', 'durationMs', 'requestHeaders', 'requestBody']);
    const copies = [{ ...entries[0] }, JSON.parse(JSON.stringify(entries[0])), structuredClone(entries[0])];
    for (const c of copies) expect(JSON.stringify(c)).not.toMatch(/BEARER-SECRET-2|hunter3|TK-1/);
    expect(copies[0]).toMatchObject({ url: '/login?token=[REDACTED]', requestBody: { password: '[REDACTED]' }, requestHeaders: { Authorization: '[REDACTED]' } });
    expect(redactSpy).toHaveBeenCalledTimes(2); // headers and body, once each for all the reads
    redactSpy.mockRestore();
  });

  it('hides a whole body marked redactBody (positional secrets)', async () => {
    const entries: HttpLogEntry[] = [];
    nock(BASE).post('/ValidateUser').reply(200, {});
    await client({ logger: (e) => entries.push(e) }).post('/ValidateUser', { parameters: ['acct', 'user', 'pw-123', 2052] }, { redactBody: true });
    expect(entries[0].requestBody).toBe('[REDACTED]');
  });
});
