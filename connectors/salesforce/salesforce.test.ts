/**
 * The connector against nock replies shaped like Salesforce's documented ones: OAuth token
 * responses and errors, query results with nextRecordsUrl, `[{message, errorCode}]` error bodies.
 * Built through the real registry wiring (config entry → createConnector → kit HTTP clients) with
 * the kit's fake clock, so retries never sleep and every wait is asserted exactly.
 */
import nock from 'nock';
import { ConnectorEntry, ConnectorError, createConnector, fakeClock, FakeClock, HttpLogEntry, SourcePage, StreamDefinition } from '../../src/connectors';
import './index';

const BASE = 'https://acme.my.salesforce.test';
const V = '/services/data/v59.0';
const QUERY = `${V}/query`;
const TOKEN = '/services/oauth2/token';
const ENV = { SF_CLIENT_ID: '3MVG9-client-id', SF_CLIENT_SECRET: 'CS-s3cr3t-4242', SF_USERNAME: 'integration@acme.test', SF_PASSWORD: 'pw-hunter2', SF_TOKEN: 'SECTOK9' };
const ACCOUNT_FIELDS = 'Id, Name, Phone, BillingState, BillingCity, CreatedDate, SystemModstamp, CustomerTier__c';
const ACCOUNT_SOQL = `SELECT ${ACCOUNT_FIELDS} FROM Account ORDER BY SystemModstamp ASC, Id ASC`;
const after = (m: string, id: string) => `SELECT ${ACCOUNT_FIELDS} FROM Account WHERE (SystemModstamp > ${m} OR (SystemModstamp = ${m} AND Id > '${id}')) ORDER BY SystemModstamp ASC, Id ASC`;

let clock: FakeClock;

function entry(over: Partial<ConnectorEntry> = {}): ConnectorEntry {
  return {
    name: 'crm',
    type: 'salesforce',
    baseUrl: BASE,
    sandbox: false,
    credentials: { clientId: { env: 'SF_CLIENT_ID' }, clientSecret: { env: 'SF_CLIENT_SECRET' } },
    retry: { baseDelayMs: 100, maxDelayMs: 10_000 },
    streams: {},
    options: {},
    ...over,
  };
}

function connector(over: Partial<ConnectorEntry> = {}) {
  return createConnector(entry(over), { clock, env: ENV, random: () => 0.5, logger: () => undefined });
}

function tokenBody(accessToken: string, instanceUrl = BASE) {
  return {
    access_token: accessToken,
    signature: 'bWV0YWRhdGEtc2lnbmF0dXJlLWZvci10ZXN0cw==',
    scope: 'api',
    instance_url: instanceUrl,
    id: 'https://login.salesforce.com/id/00D5g00000JunctEAA/0055g00000IntegAAA',
    token_type: 'Bearer',
    issued_at: '1771401600000',
  };
}

function account(id: string, stamp: string, extra: Record<string, unknown> = {}) {
  return {
    attributes: { type: 'Account', url: `${V}/sobjects/Account/${id}` },
    Id: id,
    Name: '张伟',
    Phone: '138 0013 8000',
    BillingState: '上海市',
    BillingCity: '上海市',
    CreatedDate: '2019-04-12T02:26:00.000+0000',
    SystemModstamp: stamp,
    CustomerTier__c: 'VIP',
    ...extra,
  };
}

/** Ids as Salesforce writes them (18 characters), ordered as written. */
const ID = (n: number) => `0015g00000Acct${String(n).padStart(4, '0')}`;
const T0 = '2026-10-01T01:00:00.000+0000';
const T1 = '2026-10-02T03:04:05.000+0000';
const T2 = '2026-10-03T00:00:00.000+0000';

function withToken(scope = nock(BASE), accessToken = 'TOK-1') {
  return scope.post(TOKEN).reply(200, tokenBody(accessToken));
}

/** nock hands a form body over parsed (an object) or as text, depending on its content type. */
function formOf(body: unknown): Record<string, string> {
  return typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : (body as Record<string, string>);
}

async function readAll(stream: StreamDefinition, cursor: string | null = null): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const p of stream.read(cursor)) pages.push(p);
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

const ids = (pages: SourcePage[]) => pages.flatMap((p) => p.records.map((r) => r.externalId));

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(() => {
  // The local clock (settle window when a reply has no Date header): a day after T2, so every
  // fixture record is settled unless a test says otherwise.
  clock = fakeClock(Date.parse('2026-10-04T00:00:00Z'));
});
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

describe('OAuth token flow', () => {
  it('logs in with client_credentials (form-encoded) and sends the token as a Bearer header', async () => {
    let form: Record<string, string> = {};
    const scope = nock(BASE)
      .post(TOKEN, (body) => {
        form = formOf(body);
        return true;
      })
      .matchHeader('content-type', /application\/x-www-form-urlencoded/)
      .reply(200, tokenBody('00D5g!AR-token-one'))
      .get(QUERY)
      .query({ q: ACCOUNT_SOQL })
      .matchHeader('authorization', 'Bearer 00D5g!AR-token-one')
      .reply(200, { totalSize: 1, done: true, records: [account(ID(1), T0)] });
    const pages = await readAll(connector().streams.accounts);
    expect(scope.isDone()).toBe(true);
    expect(form).toEqual({ grant_type: 'client_credentials', client_id: ENV.SF_CLIENT_ID, client_secret: ENV.SF_CLIENT_SECRET });
    expect(pages).toHaveLength(1);
    expect(pages[0].records[0]).toEqual({
      externalId: ID(1),
      version: '2026-10-01T01:00:00.000Z',
      updatedAt: '2026-10-01T01:00:00.000Z',
      payload: account(ID(1), T0),
    });
    expect(pages[0].hasMore).toBe(false);
  });

  it('uses the password grant (password + security token) when a username is configured', async () => {
    let form: Record<string, string> = {};
    nock(BASE)
      .post(TOKEN, (body) => {
        form = formOf(body);
        return true;
      })
      .reply(200, tokenBody('TOK-PW'))
      .get(QUERY)
      .query(true)
      .matchHeader('authorization', 'Bearer TOK-PW')
      .reply(200, { totalSize: 0, done: true, records: [] });
    const c = connector({
      credentials: {
        clientId: { env: 'SF_CLIENT_ID' },
        clientSecret: { env: 'SF_CLIENT_SECRET' },
        username: { env: 'SF_USERNAME' },
        password: { env: 'SF_PASSWORD' },
        securityToken: { env: 'SF_TOKEN' },
      },
    });
    await readAll(c.streams.accounts);
    expect(form).toEqual({
      grant_type: 'password',
      client_id: ENV.SF_CLIENT_ID,
      client_secret: ENV.SF_CLIENT_SECRET,
      username: ENV.SF_USERNAME,
      password: ENV.SF_PASSWORD + ENV.SF_TOKEN,
    });
  });

  it('keeps the client secret, password and token out of the HTTP log', async () => {
    const entries: HttpLogEntry[] = [];
    nock(BASE)
      .post(TOKEN)
      .reply(200, tokenBody('00D5g!AR-secret-session'))
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 0, done: true, records: [] });
    const c = createConnector(
      entry({ credentials: { clientId: { env: 'SF_CLIENT_ID' }, clientSecret: { env: 'SF_CLIENT_SECRET' }, username: { env: 'SF_USERNAME' }, password: { env: 'SF_PASSWORD' } } }),
      { clock, env: ENV, logger: (e) => entries.push(e) },
    );
    await readAll(c.streams.accounts);
    expect(entries.map((e) => [e.method, e.outcome])).toEqual([
      ['POST', 'ok'],
      ['GET', 'ok'],
    ]);
    const text = JSON.stringify(entries);
    for (const secret of [ENV.SF_CLIENT_SECRET, ENV.SF_PASSWORD, '00D5g!AR-secret-session']) expect(text).not.toContain(secret);
  });

  it('reports a refused login as CONNECTOR_AUTH_FAILED with the OAuth error, never the secret', async () => {
    nock(BASE).post(TOKEN).reply(400, { error: 'invalid_client', error_description: 'invalid client credentials' });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.vendorErrors).toEqual([{ code: 'invalid_client', message: 'invalid client credentials' }]);
    expect(JSON.stringify(err.toJSON()) + err.message).not.toContain(ENV.SF_CLIENT_SECRET);
  });

  it('does not follow an instance_url on another host: the bearer token stays on the configured base', async () => {
    // With net connect disabled, a request to evil.test would fail the read.
    const scope = nock(BASE)
      .post(TOKEN)
      .reply(200, tokenBody('TOK-1', 'https://evil.test'))
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 0, done: true, records: [] })
      .get(`${V}/`)
      .reply(200, { query: `${V}/query`, sobjects: `${V}/sobjects` });
    const c = connector();
    await readAll(c.streams.accounts);
    const health = await c.healthCheck();
    expect(scope.isDone()).toBe(true);
    expect(health.ok).toBe(true);
    expect(health.details).toEqual({ apiVersion: '59.0', instance: BASE, ignoredInstanceUrl: 'https://evil.test' });
  });

  it('switches to an instance_url the config allows (login host differs from the org host)', async () => {
    const LOGIN = 'https://login.salesforce.test';
    const UAT = 'https://acme--uat.sandbox.my.salesforce.test';
    const login = nock(LOGIN).post(TOKEN).reply(200, tokenBody('TOK-UAT', UAT));
    const data = nock(UAT).get(QUERY).query(true).matchHeader('authorization', 'Bearer TOK-UAT').reply(200, { totalSize: 0, done: true, records: [] });
    const c = connector({ baseUrl: BASE, options: { loginUrl: LOGIN, allowedInstanceUrls: [UAT] } });
    await readAll(c.streams.accounts);
    expect(login.isDone()).toBe(true);
    expect(data.isDone()).toBe(true);
  });
});

describe('paging', () => {
  it('follows nextRecordsUrl (against the origin) until done, lazily, with a cursor per page', async () => {
    const scope = withToken()
      .get(QUERY)
      .query({ q: ACCOUNT_SOQL })
      .matchHeader('sforce-query-options', 'batchSize=500')
      .reply(200, { totalSize: 5, done: false, nextRecordsUrl: `${V}/query/01gD0000002HU6KIAW-2`, records: [account(ID(1), T0), account(ID(2), T1)] })
      .get(`${V}/query/01gD0000002HU6KIAW-2`)
      .reply(200, { totalSize: 5, done: false, nextRecordsUrl: `${V}/query/01gD0000002HU6KIAW-4`, records: [account(ID(3), T1), account(ID(4), T1)] })
      .get(`${V}/query/01gD0000002HU6KIAW-4`)
      .reply(200, { totalSize: 5, done: true, records: [account(ID(5), T2)] });
    const stream = connector({ streams: { accounts: { pageSize: 500 } } }).streams.accounts;
    const it = stream.read(null)[Symbol.asyncIterator]();
    const first = await it.next();
    // Lazy: the second batch is fetched only when asked for.
    expect(nock.pendingMocks()).toHaveLength(2);
    const rest: SourcePage[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    const pages = [first.value as SourcePage, ...rest];
    expect(scope.isDone()).toBe(true);
    expect(ids(pages)).toEqual([ID(1), ID(2), ID(3), ID(4), ID(5)]);
    expect(pages.map((p) => [p.cursor, p.hasMore])).toEqual([
      [`2026-10-02T03:04:05Z|${ID(2)}`, true],
      [`2026-10-02T03:04:05Z|${ID(4)}`, true],
      [`2026-10-03T00:00:00Z|${ID(5)}`, false],
    ]);
  });

  it('resumes exactly after a crash between pages, even inside a run of equal SystemModstamps', async () => {
    // Records 2, 3 and 4 share T1 and straddle the page boundary.
    withToken()
      .get(QUERY)
      .query({ q: ACCOUNT_SOQL })
      .reply(200, { totalSize: 5, done: false, nextRecordsUrl: `${V}/query/01gAAA-2`, records: [account(ID(1), T0), account(ID(2), T1)] });
    const first = await connector().streams.accounts.read(null)[Symbol.asyncIterator]().next();
    const stored = first.value as SourcePage;
    // "Crash": the process dies with page 1 stored; page 2 was never asked for.
    expect(nock.pendingMocks()).toEqual([]);

    const resumed = withToken()
      .get(QUERY)
      .query({ q: after('2026-10-02T03:04:05Z', ID(2)) })
      .reply(200, { totalSize: 3, done: false, nextRecordsUrl: `${V}/query/01gBBB-2`, records: [account(ID(3), T1), account(ID(4), T1)] })
      .get(`${V}/query/01gBBB-2`)
      .reply(200, { totalSize: 3, done: true, records: [account(ID(5), T2)] });
    const rest = await readAll(connector().streams.accounts, stored.cursor);
    expect(resumed.isDone()).toBe(true);
    const all = [...stored.records.map((r) => r.externalId), ...ids(rest)];
    expect(all).toEqual([ID(1), ID(2), ID(3), ID(4), ID(5)]); // no gap, no duplicate
    expect(rest[rest.length - 1].cursor).toBe(`2026-10-03T00:00:00Z|${ID(5)}`);
  });

  it('an incremental read with nothing new returns one empty last page that keeps the cursor', async () => {
    const cursor = `2026-10-03T00:00:00Z|${ID(5)}`;
    withToken().get(QUERY).query({ q: after('2026-10-03T00:00:00Z', ID(5)) }).reply(200, { totalSize: 0, done: true, records: [] });
    const pages = await readAll(connector().streams.accounts, cursor);
    expect(pages).toEqual([{ records: [], cursor, hasMore: false }]);
  });

  it('keeps the cursor before records the server may still stamp (its current second and settleSeconds)', async () => {
    // Date says 03:04:07: T1 = 03:04:05 is within the default 5 s settle window.
    withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 2, done: true, records: [account(ID(1), T0), account(ID(2), T1)] }, { Date: 'Fri, 02 Oct 2026 03:04:07 GMT' });
    const pages = await readAll(connector().streams.accounts);
    expect(pages[0].cursor).toBe('2026-10-02T03:04:01Z'); // the next read starts at 03:04:02 (horizon)

    withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 2, done: true, records: [account(ID(1), T0), account(ID(2), T1)] }, { Date: 'Fri, 02 Oct 2026 03:04:07 GMT' });
    const zero = await readAll(connector({ options: { settleSeconds: 0 } }).streams.accounts);
    expect(zero[0].cursor).toBe(`2026-10-02T03:04:05Z|${ID(2)}`); // that second is over: exact
  });

  it('without a Date header, settles by the local clock at the time of the query', async () => {
    clock = fakeClock(Date.parse('2026-10-02T03:04:07.500Z'));
    withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 2, done: true, records: [account(ID(1), T0), account(ID(2), T1)] });
    const pages = await readAll(connector().streams.accounts);
    expect(pages[0].cursor).toBe('2026-10-02T03:04:01Z'); // as with Date: 03:04:07 above
  });

  it('accepts a bare dateTime as a starting cursor ("changed since")', async () => {
    const scope = withToken()
      .get(QUERY)
      .query({ q: `SELECT ${ACCOUNT_FIELDS} FROM Account WHERE SystemModstamp > 2026-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC` })
      .reply(200, { totalSize: 0, done: true, records: [] });
    await readAll(connector().streams.accounts, '2026-01-01T08:00:00+08:00');
    expect(scope.isDone()).toBe(true);
  });

  it('refuses a cursor it did not write before building a query from it', async () => {
    const err = await rejection(readAll(connector().streams.accounts, "2026-01-01T00:00:00Z|x' OR Name != '"));
    expect(err.code).toBe('CONNECTOR_MISCONFIGURED');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('skips an empty batch that says done: false and follows on', async () => {
    const scope = withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 3, done: false, nextRecordsUrl: `${V}/query/01gCCC-2`, records: [account(ID(1), T0), account(ID(2), T0)] })
      .get(`${V}/query/01gCCC-2`)
      .reply(200, { totalSize: 3, done: false, nextRecordsUrl: `${V}/query/01gCCC-4`, records: [] })
      .get(`${V}/query/01gCCC-4`)
      .reply(200, { totalSize: 3, done: true, records: [account(ID(3), T1)] });
    const pages = await readAll(connector().streams.accounts);
    expect(scope.isDone()).toBe(true);
    expect(pages.map((p) => p.records.length)).toEqual([2, 1]);
    expect(pages[1].hasMore).toBe(false);
  });

  it('stops with a clear error when a page sends the same nextRecordsUrl again (no endless loop)', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 9, done: false, nextRecordsUrl: `${V}/query/01gLOOP-2`, records: [account(ID(1), T0)] })
      .get(`${V}/query/01gLOOP-2`)
      .reply(200, { totalSize: 9, done: false, nextRecordsUrl: `${V}/query/01gLOOP-2`, records: [account(ID(2), T1)] })
      .get(`${V}/query/01gLOOP-2`)
      .times(5)
      .reply(200, { totalSize: 9, done: false, nextRecordsUrl: `${V}/query/01gLOOP-2`, records: [account(ID(2), T1)] });
    const pages: SourcePage[] = [];
    const err = await rejection(
      (async () => {
        for await (const p of connector().streams.accounts.read(null)) pages.push(p);
      })(),
    );
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain(`nextRecordsUrl ${V}/query/01gLOOP-2 a second time`);
    expect(ids(pages)).toEqual([ID(1)]); // the repeated page was not handed out
  });

  it('stops when a batch repeats records already read, even under a fresh nextRecordsUrl', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 9, done: false, nextRecordsUrl: `${V}/query/01gREP-2`, records: [account(ID(1), T1), account(ID(2), T1)] })
      .get(`${V}/query/01gREP-2`)
      .reply(200, { totalSize: 9, done: false, nextRecordsUrl: `${V}/query/01gREP-4`, records: [account(ID(1), T1), account(ID(2), T1)] });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain(`repeats record ${ID(1)}`);
  });

  it('stops when done is false but no nextRecordsUrl is given', async () => {
    withToken().get(QUERY).query(true).reply(200, { totalSize: 9, done: false, records: [account(ID(1), T0)] });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('no nextRecordsUrl');
  });

  it('refuses a nextRecordsUrl that is not a query path (absolute URLs included)', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 9, done: false, nextRecordsUrl: 'https://evil.test/services/data/v59.0/query/01gX-2', records: [account(ID(1), T0)] });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('not a query path');
  });

  it('re-queries from the last cursor once when Salesforce has dropped the query locator', async () => {
    const scope = withToken()
      .get(QUERY)
      .query({ q: ACCOUNT_SOQL })
      .reply(200, { totalSize: 3, done: false, nextRecordsUrl: `${V}/query/01gOLD-2`, records: [account(ID(1), T0), account(ID(2), T1)] })
      .get(`${V}/query/01gOLD-2`)
      .reply(400, [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }])
      .get(QUERY)
      .query({ q: after('2026-10-02T03:04:05Z', ID(2)) })
      .reply(200, { totalSize: 1, done: true, records: [account(ID(3), T2)] });
    const pages = await readAll(connector().streams.accounts);
    expect(scope.isDone()).toBe(true);
    expect(ids(pages)).toEqual([ID(1), ID(2), ID(3)]);
  });

  it('stops between pages when the caller aborts, without asking for the next batch', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 3, done: false, nextRecordsUrl: `${V}/query/01gABORT-2`, records: [account(ID(1), T0), account(ID(2), T1)] })
      .get(`${V}/query/01gABORT-2`)
      .reply(200, { totalSize: 3, done: true, records: [account(ID(3), T2)] });
    const ac = new AbortController();
    const seen: string[] = [];
    const err = await (async () => {
      try {
        for await (const p of connector().streams.accounts.read(null, { signal: ac.signal })) {
          seen.push(...p.records.map((r) => r.externalId));
          ac.abort(new Error('worker shutting down'));
        }
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toBe('worker shutting down');
    expect(seen).toEqual([ID(1), ID(2)]);
    expect(nock.pendingMocks()).toEqual([`GET ${BASE}:443${V}/query/01gABORT-2`]);
  });

  it('rejects records out of SystemModstamp order (the cursor would skip records)', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 2, done: true, records: [account(ID(1), T2), account(ID(2), T0)] });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('out of SystemModstamp order');
  });
});

describe('errors', () => {
  it('renews an expired session (401 INVALID_SESSION_ID) once and succeeds', async () => {
    const scope = nock(BASE)
      .post(TOKEN)
      .reply(200, tokenBody('TOK-OLD'))
      .get(QUERY)
      .query(true)
      .matchHeader('authorization', 'Bearer TOK-OLD')
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
      .post(TOKEN)
      .reply(200, tokenBody('TOK-NEW'))
      .get(QUERY)
      .query(true)
      .matchHeader('authorization', 'Bearer TOK-NEW')
      .reply(200, { totalSize: 1, done: true, records: [account(ID(1), T0)] });
    const pages = await readAll(connector().streams.accounts);
    expect(scope.isDone()).toBe(true);
    expect(ids(pages)).toEqual([ID(1)]);
    expect(clock.sleeps).toEqual([]); // a re-login is not a backoff retry
  });

  it('gives up with CONNECTOR_AUTH_FAILED when the fresh session is refused too (no login loop)', async () => {
    let logins = 0;
    nock(BASE)
      .post(TOKEN)
      .times(5)
      .reply(200, () => tokenBody(`TOK-${++logins}`))
      .get(QUERY)
      .query(true)
      .times(5)
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.vendorErrors?.[0]).toEqual({ code: 'INVALID_SESSION_ID', message: 'Session expired or invalid' });
    expect(logins).toBe(2);
    expect(nock.pendingMocks()).toEqual([`POST ${BASE}:443${TOKEN}`, `GET ${BASE}:443${QUERY}`]); // 3 of 5 left each
  });

  it('retries a 500 after a backoff and then succeeds', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(500, [{ message: 'An unexpected error occurred. Please include this ErrorId if you contact support: 1043298761-51623 (-1190351728)', errorCode: 'UNKNOWN_EXCEPTION' }])
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 1, done: true, records: [account(ID(1), T0)] });
    const pages = await readAll(connector().streams.accounts);
    expect(ids(pages)).toEqual([ID(1)]);
    expect(clock.sleeps).toEqual([50]); // full jitter 0.5 × 100 ms
  });

  it('waits out a 429 for the Retry-After it names', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(429, [{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], { 'Retry-After': '3' })
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 0, done: true, records: [] });
    await readAll(connector().streams.accounts);
    expect(clock.sleeps).toEqual([3000]);
  });

  it('403 REQUEST_LIMIT_EXCEEDED (daily quota) fails at once as rate limited, for the queue to park', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }])
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 0, done: true, records: [] });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(15 * 60_000);
    expect(err.message).toContain('REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.');
    expect(clock.sleeps).toEqual([]);
    expect(nock.pendingMocks()).toHaveLength(1);
  });

  it('403 REQUEST_LIMIT_EXCEEDED for concurrency backs off and retries', async () => {
    withToken()
      .get(QUERY)
      .query(true)
      .reply(403, [{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }])
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 0, done: true, records: [] });
    await readAll(connector().streams.accounts);
    expect(clock.sleeps).toEqual([50]);
  });

  it('MALFORMED_QUERY is rejected with the vendor message and not retried', async () => {
    const message = "\nSELECT Id FROM Account WHERE SystemModstamp > 2026-13-01T00:00:00Z\n                                              ^\nERROR at Row:1:Column:47\nline 1:47 no viable alternative at character ' '";
    withToken()
      .get(QUERY)
      .query(true)
      .reply(400, [{ message, errorCode: 'MALFORMED_QUERY' }])
      .get(QUERY)
      .query(true)
      .reply(200, { totalSize: 0, done: true, records: [] });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(400);
    expect(err.vendorErrors).toEqual([{ code: 'MALFORMED_QUERY', message }]);
    expect(err.message).toContain('MALFORMED_QUERY');
    expect(err.message).toContain('no viable alternative');
    expect(nock.pendingMocks()).toHaveLength(1);
  });

  it('INVALID_FIELD (a configured custom field the org lacks) is rejected with the vendor message', async () => {
    const message = "\nSELECT Id, Name, Phone, BillingState, BillingCity, CreatedDate, SystemModstamp, Tier__c FROM Account\n                                                                               ^\nERROR at Row:1:Column:80\nNo such column 'Tier__c' on entity 'Account'.";
    withToken()
      .get(QUERY)
      .query((q) => String(q.q).includes('Tier__c FROM Account'))
      .reply(400, [{ message, errorCode: 'INVALID_FIELD' }]);
    const err = await rejection(readAll(connector({ streams: { accounts: { tierField: 'Tier__c' } } }).streams.accounts));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.vendorErrors?.[0].code).toBe('INVALID_FIELD');
    expect(err.message).toContain("No such column 'Tier__c'");
  });

  it('a body that is not JSON is CONNECTOR_BAD_RESPONSE', async () => {
    withToken().get(QUERY).query(true).reply(200, '{"totalSize": 3, "done": false, "records": [{"attributes": {"type": "Acc', { 'Content-Type': 'application/json;charset=UTF-8' });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
  });

  it('JSON that is not a query result is CONNECTOR_BAD_RESPONSE', async () => {
    withToken().get(QUERY).query(true).reply(200, { hello: 'world' });
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('not a query result');
  });
});

describe('health check', () => {
  it('is ok after an authenticated GET of the API version resources', async () => {
    const scope = withToken().get(`${V}/`).matchHeader('authorization', 'Bearer TOK-1').reply(200, { query: `${V}/query`, sobjects: `${V}/sobjects` });
    const health = await connector().healthCheck();
    expect(scope.isDone()).toBe(true);
    expect(health).toMatchObject({ ok: true, details: { apiVersion: '59.0', instance: BASE } });
  });

  it('says what is wrong, without throwing or retrying, when the org does not serve the API version', async () => {
    withToken().get('/services/data/v99.0/').reply(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    const health = await connector({ options: { apiVersion: 'v99.0' } }).healthCheck();
    expect(health.ok).toBe(false);
    expect(health.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(health.message).toContain('NOT_FOUND');
    expect(clock.sleeps).toEqual([]);
  });

  it('reports refused credentials as CONNECTOR_AUTH_FAILED', async () => {
    nock(BASE).post(TOKEN).reply(400, { error: 'invalid_grant', error_description: 'authentication failure' });
    const health = await connector().healthCheck();
    expect(health).toMatchObject({ ok: false, code: 'CONNECTOR_AUTH_FAILED' });
    expect(health.message).toContain('authentication failure');
  });
});
