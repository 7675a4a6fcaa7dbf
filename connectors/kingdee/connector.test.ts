/**
 * The Kingdee client and streams against nock, with responses shaped as K3 Cloud sends them:
 * logins that answer HTTP 200 either way, session loss and business errors inside 200 bodies,
 * ExecuteBillQuery rows as arrays in FieldKeys order.
 */
import nock from 'nock';
import { ConnectorEntry, ConnectorError, createConnector, fakeClock, FakeClock, HttpLogEntry, SourcePage } from '../../src/connectors';
import type { KingdeeConnector } from './index';
import './index';
import { KINGDEE_SERVICES } from './client';
import { logger } from '../../src/logging/logger';
import { readFirstPages, readPages, recordsOf } from './testing';

const ORIGIN = 'https://erp.example.test';
const BASE = `${ORIGIN}/k3cloud/`;
const ACCT = '5f1c2d3e4a5b6c';
const USER = 'junction.api';
const PASSWORD = 'Pa55-w0rd!kd';
const APP_SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const LOGIN = `/k3cloud/${KINGDEE_SERVICES.validateUser}`;
const APP_LOGIN = `/k3cloud/${KINGDEE_SERVICES.loginByAppSecret}`;
const QUERY = `/k3cloud/${KINGDEE_SERVICES.executeBillQuery}`;
const SAVE = `/k3cloud/${KINGDEE_SERVICES.save}`;

const CUSTOMER_KEYS = 'FCUSTID,FNumber,FName,FShortName,FTEL,FDocumentStatus,FForbidStatus,FModifyDate';
const INVENTORY_KEYS = 'FID,FMaterialId.FNumber,FMaterialId.FName,FStockId.FNumber,FStockId.FName,FStockOrgId.FNumber,FLot.FNumber,FBaseQty';

let clock: FakeClock;
let logs: HttpLogEntry[];

const env = { KD_USER: USER, KD_PASSWORD: PASSWORD, KD_APP_ID: '290417_abc', KD_APP_SECRET: APP_SECRET };

function entry(over: Partial<ConnectorEntry> = {}): ConnectorEntry {
  return {
    name: 'erp',
    type: 'kingdee',
    baseUrl: BASE,
    sandbox: false,
    credentials: { username: { env: 'KD_USER' }, password: { env: 'KD_PASSWORD' } },
    retry: { baseDelayMs: 100, maxAttempts: 3 },
    streams: {},
    options: { acctId: ACCT },
    ...over,
  };
}

function connector(over: Partial<ConnectorEntry> = {}): KingdeeConnector {
  return createConnector(entry(over), { env, clock, logger: (e) => logs.push(e), random: () => 0.5 }) as KingdeeConnector;
}

const loginBody = (sid: string) => ({
  Message: null,
  MessageCode: 'CheckPasswordPolicy',
  LoginResultType: 1,
  Context: { UserName: USER, DBid: ACCT, SessionId: 'asp-1' },
  KDSVCSessionId: sid,
  FormId: null,
  IsSuccessByAPI: true,
});

/** A successful ValidateUser that hands out session `sid` (as cookie and in the body). */
function login(sid: string) {
  return nock(ORIGIN)
    .post(LOGIN, (b) => b.acctID === ACCT && b.username === USER && b.password === PASSWORD && b.lcid === 2052)
    .reply(200, loginBody(sid), { 'Set-Cookie': [`kdservice-sessionid=${sid}; path=/`, `ASP.NET_SessionId=asp-${sid}; path=/; HttpOnly`] });
}

/** Kingdee's answer when the session is gone: HTTP 200, ExecuteBillQuery's error nesting. */
const SESSION_LOST = [
  [
    {
      Result: {
        ResponseStatus: {
          ErrorCode: 500,
          IsSuccess: false,
          Errors: [{ FieldName: null, Message: '会话信息已丢失，请重新登录', DIndex: 0 }],
          SuccessEntitys: [],
          SuccessMessages: [],
          MsgCode: 1,
        },
      },
    },
  ],
];

type QueryData = Record<string, unknown>;
const dataOf = (body: unknown): QueryData => (body as { data: QueryData }).data;

const customerRow = (id: number, number: string, modified: string, tel = '138-0013-8000') => [id, number, '张伟', '张伟', tel, 'C', 'A', modified];

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
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

describe('login and session', () => {
  it('logs in with ValidateUser, sends the session cookies, and turns row arrays into objects keyed by field key', async () => {
    login('sid-1');
    const query = nock(ORIGIN)
      .post(QUERY, (b) => dataOf(b).FormId === 'BD_Customer' && dataOf(b).FieldKeys === CUSTOMER_KEYS)
      .matchHeader('cookie', (v) => v.includes('kdservice-sessionid=sid-1') && v.includes('ASP.NET_SessionId=asp-sid-1'))
      .matchHeader('kdservice-sessionid', 'sid-1')
      .reply(200, [customerRow(100001, 'CUST10001', '2026-02-18T10:12:33.123')]);
    const pages = await readPages(connector().streams.customers);
    expect(query.isDone()).toBe(true);
    expect(pages).toHaveLength(1);
    expect(pages[0].hasMore).toBe(false);
    expect(pages[0].records).toEqual([
      {
        externalId: 'CUST10001',
        version: '2026-02-18T02:12:33.123Z', // server-local UTC+8 → UTC
        updatedAt: '2026-02-18T02:12:33.123Z',
        payload: {
          FCUSTID: 100001,
          FNumber: 'CUST10001',
          FName: '张伟',
          FShortName: '张伟',
          FTEL: '138-0013-8000',
          FDocumentStatus: 'C',
          FForbidStatus: 'A',
          FModifyDate: '2026-02-18T10:12:33.123',
        },
      },
    ]);
  });

  it('logs in with LoginByAppSecret when appId and appSecret are configured', async () => {
    const appLogin = nock(ORIGIN)
      .post(APP_LOGIN, (b) => b.acctID === ACCT && b.username === USER && b.appid === '290417_abc' && b.appsecret === APP_SECRET && b.lcid === 2052)
      .reply(200, loginBody('sid-app'), { 'Set-Cookie': ['kdservice-sessionid=sid-app; path=/'] });
    nock(ORIGIN).post(QUERY).matchHeader('cookie', 'kdservice-sessionid=sid-app').reply(200, []);
    const c = connector({ credentials: { username: { env: 'KD_USER' }, appId: { env: 'KD_APP_ID' }, appSecret: { env: 'KD_APP_SECRET' } } });
    await readPages(c.streams.customers);
    expect(appLogin.isDone()).toBe(true);
  });

  it('uses the session id from the body when the site sets no cookie', async () => {
    nock(ORIGIN).post(LOGIN).reply(200, loginBody('sid-body'));
    const q = nock(ORIGIN).post(QUERY).matchHeader('cookie', 'kdservice-sessionid=sid-body').reply(200, []);
    await readPages(connector().streams.customers);
    expect(q.isDone()).toBe(true);
  });

  it("speaks the SDK envelope with positional parameters when requestFormat is 'parameters'", async () => {
    let loginBodySeen: Record<string, unknown> = {};
    let queryBodySeen: Record<string, unknown> = {};
    nock(ORIGIN)
      .post(LOGIN, (b) => {
        loginBodySeen = b;
        return true;
      })
      .reply(200, loginBody('sid-p'), { 'Set-Cookie': ['kdservice-sessionid=sid-p; path=/'] });
    nock(ORIGIN)
      .post(QUERY, (b) => {
        queryBodySeen = b;
        return true;
      })
      .reply(200, []);
    await readPages(connector({ options: { acctId: ACCT, requestFormat: 'parameters' } }).streams.customers);
    expect(loginBodySeen).toMatchObject({ format: 1, useragent: 'ApiClient', v: '1.0' });
    expect(JSON.parse(loginBodySeen.parameters as string)).toEqual([ACCT, USER, PASSWORD, 2052]);
    const params = JSON.parse(queryBodySeen.parameters as string);
    expect(params).toHaveLength(1);
    expect(JSON.parse(params[0])).toMatchObject({ FormId: 'BD_Customer', FieldKeys: CUSTOMER_KEYS, StartRow: 0, Limit: 500 });
    // The positional password cannot be redacted by name: the whole login body is hidden.
    expect(logs.find((l) => l.url.includes('ValidateUser'))?.requestBody).toBe('[REDACTED]');
    expect(JSON.stringify(logs)).not.toContain(PASSWORD);
  });

  it('reports a refused login as CONNECTOR_AUTH_FAILED with the vendor message, never the password, and sends no query', async () => {
    nock(ORIGIN)
      .post(LOGIN)
      .reply(200, { Message: '用户名或密码错误！', MessageCode: '', LoginResultType: 0, Context: null, KDSVCSessionId: null, FormId: null });
    const query = nock(ORIGIN).post(QUERY).reply(200, []);
    const c = connector();
    const err = await failure(readPages(c.streams.customers));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('用户名或密码错误！');
    expect(err.message).toContain('LoginResultType 0');
    expect(err.vendorErrors).toEqual([{ code: 'LoginResultType 0', message: '用户名或密码错误！' }]);
    expect(query.isDone()).toBe(false);

    // The health check says the same, as data.
    nock(ORIGIN).post(LOGIN).reply(200, { Message: '用户名或密码错误！', LoginResultType: 0 });
    const health = await c.healthCheck();
    expect(health).toMatchObject({ ok: false, code: 'CONNECTOR_AUTH_FAILED' });
    expect(health.message).toContain('用户名或密码错误！');

    const everything = JSON.stringify([err, err.message, err.toJSON(), health, logs]);
    expect(everything).not.toContain(PASSWORD);
    const loginLogs = logs.filter((l) => l.url.includes('ValidateUser'));
    expect(loginLogs.length).toBe(2);
    for (const l of loginLogs) expect(l.requestBody).toBe('[REDACTED]');
  });

  it('accepts LoginResultType -5 (DealWithForm, an administrator) with a session: queries work, the type is logged without secrets', async () => {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      nock(ORIGIN)
        .post(LOGIN)
        .reply(200, { ...loginBody('sid-admin'), LoginResultType: -5, MessageCode: 'DealWithForm', FormId: 'BOS_ChangePassword' }, { 'Set-Cookie': ['kdservice-sessionid=sid-admin; path=/'] });
      const q = nock(ORIGIN)
        .post(QUERY)
        .matchHeader('kdservice-sessionid', 'sid-admin')
        .reply(200, [customerRow(100001, 'CUST10001', '2026-02-18T10:12:33.123')]);
      const records = recordsOf(await readPages(connector().streams.customers));
      expect(q.isDone()).toBe(true);
      expect(records.map((r) => r.externalId)).toEqual(['CUST10001']);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][1]).toMatchObject({ connector: 'erp', loginResultType: -5, loginResult: 'DealWithForm' });
      const logged = JSON.stringify(warn.mock.calls);
      expect(logged).not.toContain('sid-admin');
      expect(logged).not.toContain(PASSWORD);
    } finally {
      warn.mockRestore();
    }
  });

  it('accepts the login warnings -4 and -2 with a session; refuses them without one, and refuses -3 (password must be changed)', async () => {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      for (const type of [-4, -2]) {
        nock(ORIGIN).post(LOGIN).reply(200, { ...loginBody(`sid${type}`), LoginResultType: type, Message: '密码即将过期' });
        const q = nock(ORIGIN).post(QUERY).matchHeader('kdservice-sessionid', `sid${type}`).reply(200, []);
        await readPages(connector().streams.customers);
        expect(q.isDone()).toBe(true);
      }
      expect(warn.mock.calls.map((c) => (c[1] as { loginResultType: number }).loginResultType)).toEqual([-4, -2]);

      nock(ORIGIN).post(LOGIN).reply(200, { ...loginBody(''), KDSVCSessionId: null, LoginResultType: -5, Message: null });
      const noSession = await failure(readPages(connector().streams.customers));
      expect(noSession.code).toBe('CONNECTOR_AUTH_FAILED');
      expect(noSession.message).toContain('LoginResultType -5 (DealWithForm) without a session');

      nock(ORIGIN).post(LOGIN).reply(200, { ...loginBody('sid-3'), LoginResultType: -3, Message: '密码不符合密码策略，请修改密码' });
      const mustChange = await failure(readPages(connector().streams.customers));
      expect(mustChange.code).toBe('CONNECTOR_AUTH_FAILED');
      expect(mustChange.message).toContain('LoginResultType -3 (PWInvalid_Required)');
      expect(mustChange.message).toContain('密码不符合密码策略');
    } finally {
      warn.mockRestore();
    }
  });

  it('never logs the session id', async () => {
    login('sid-secret-42');
    nock(ORIGIN).post(QUERY).reply(200, []);
    await readPages(connector().streams.customers);
    const queryLog = logs.find((l) => l.url.includes('ExecuteBillQuery'))!;
    expect(queryLog.requestHeaders.Cookie).toBe('[REDACTED]');
    expect(JSON.stringify(logs)).not.toContain('sid-secret-42');
  });
});

describe('session expiry in a 200 body', () => {
  it('logs in again once and repeats the query', async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).matchHeader('kdservice-sessionid', 'sid-1').reply(200, SESSION_LOST);
    login('sid-2');
    const retried = nock(ORIGIN).post(QUERY).matchHeader('kdservice-sessionid', 'sid-2').reply(200, [customerRow(100001, 'CUST10001', '2026-02-18T10:00:00')]);
    const records = recordsOf(await readPages(connector().streams.customers));
    expect(records.map((r) => r.externalId)).toEqual(['CUST10001']);
    expect(retried.isDone()).toBe(true);
    expect(logs.map((l) => l.outcome)).toEqual(['ok', 'REAUTH', 'ok', 'ok']); // login, lost, login, query
    expect(clock.sleeps).toEqual([]); // a re-login is not a backoff retry
  });

  it('recognises a lost session by MsgCode 1 whatever the wording, and by the wording when MsgCode is missing', async () => {
    const lost = (msgCode: number | undefined, message: string) => [
      [{ Result: { ResponseStatus: { ErrorCode: 500, IsSuccess: false, Errors: [{ FieldName: null, Message: message, DIndex: 0 }], ...(msgCode === undefined ? {} : { MsgCode: msgCode }) } } }],
    ];
    for (const body of [lost(1, 'Context is lost, please log in again'), lost(undefined, '会话信息已丢失，请重新登录')]) {
      nock.cleanAll();
      login('sid-1');
      nock(ORIGIN).post(QUERY).matchHeader('kdservice-sessionid', 'sid-1').reply(200, body);
      login('sid-2');
      const retried = nock(ORIGIN).post(QUERY).matchHeader('kdservice-sessionid', 'sid-2').reply(200, []);
      await readPages(connector().streams.customers);
      expect(retried.isDone()).toBe(true);
    }
  });

  it('does not loop when the fresh session is refused too: CONNECTOR_AUTH_FAILED with the vendor message', async () => {
    login('sid-1');
    login('sid-2');
    const third = login('sid-3');
    nock(ORIGIN).post(QUERY).times(2).reply(200, SESSION_LOST);
    const extraQuery = nock(ORIGIN).post(QUERY).reply(200, []);
    const err = await failure(readPages(connector().streams.customers));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.message).toContain('会话信息已丢失，请重新登录');
    expect(err.vendorErrors).toEqual([{ code: 'MsgCode 1', message: '会话信息已丢失，请重新登录' }]);
    expect(third.isDone()).toBe(false);
    expect(extraQuery.isDone()).toBe(false);
  });
});

describe('vendor errors and transport failures', () => {
  it('turns IsSuccess:false in a 200 into CONNECTOR_REQUEST_REJECTED with the vendor messages, without retrying', async () => {
    login('sid-1');
    nock(ORIGIN)
      .post(QUERY)
      .reply(200, [
        [
          {
            Result: {
              ResponseStatus: {
                ErrorCode: 500,
                IsSuccess: false,
                Errors: [
                  { FieldName: 'FTEL', Message: '字段"FTEL"在业务对象"BD_Customer"中不存在', DIndex: 0 },
                  { FieldName: null, Message: '查询失败', DIndex: 0 },
                ],
                SuccessEntitys: [],
                SuccessMessages: [],
                MsgCode: 9,
              },
            },
          },
        ],
      ]);
    const second = nock(ORIGIN).post(QUERY).reply(200, []);
    const err = await failure(readPages(connector().streams.customers));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(200);
    expect(err.vendorErrors).toEqual([
      { code: 'MsgCode 9', message: '字段"FTEL"在业务对象"BD_Customer"中不存在', field: 'FTEL' },
      { code: 'MsgCode 9', message: '查询失败' },
    ]);
    expect(err.message).toContain('字段"FTEL"在业务对象"BD_Customer"中不存在');
    expect(second.isDone()).toBe(false);
  });

  it('reads IsSuccess written as the string "false" (Save) the same way', async () => {
    login('sid-1');
    nock(ORIGIN)
      .post(SAVE, (b) => b.formid === 'BD_Customer' && b.data.Model.FNumber === 'CUST10001')
      .reply(200, {
        Result: {
          ResponseStatus: { ErrorCode: '500', IsSuccess: 'false', Errors: [{ FieldName: 'FNumber', Message: '编码唯一性校验失败', DIndex: 0 }], MsgCode: '11' },
          Id: '',
          Number: '',
        },
      });
    const err = await failure(connector().client.save('BD_Customer', { Model: { FNumber: 'CUST10001', FName: '张伟' } }));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.vendorErrors).toEqual([{ code: 'MsgCode 11', message: '编码唯一性校验失败', field: 'FNumber' }]);
  });

  it('MsgCode 13 (网控冲突: another user holds the record) is retryable, not a rejected request', async () => {
    login('sid-1');
    const locked = {
      Result: {
        ResponseStatus: { ErrorCode: 500, IsSuccess: false, Errors: [{ FieldName: '', Message: '网控冲突：服务记录 T20260218-0002 正在被 王工 修改', DIndex: 0 }], MsgCode: 13 },
        Id: '',
        Number: '',
      },
    };
    nock(ORIGIN).post(SAVE).reply(200, locked);
    const err = await failure(connector().client.save('JUNC_ServiceRecord', { Model: { FNumber: 'T20260218-0002' } }));
    expect(err.code).toBe('CONNECTOR_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.vendorErrors?.[0]).toMatchObject({ code: 'MsgCode 13' });
  });

  it('returns the id and number of a successful Save', async () => {
    login('sid-1');
    nock(ORIGIN)
      .post(SAVE)
      .reply(200, {
        Result: {
          ResponseStatus: { IsSuccess: true, Errors: [], SuccessEntitys: [{ Id: 100041, Number: 'CUST10041', DIndex: 0 }], SuccessMessages: [], MsgCode: 0 },
          Id: 100041,
          Number: 'CUST10041',
          NeedReturnData: [{}],
        },
      });
    const saved = await connector().client.save('BD_Customer', { Model: { FCUSTID: 0, FNumber: 'CUST10041', FName: '新客户' } });
    expect(saved).toMatchObject({ id: '100041', number: 'CUST10041' });
  });

  it('treats MsgCode 14 (调用限制) as rate limited and retries it', async () => {
    login('sid-1');
    nock(ORIGIN)
      .post(QUERY)
      .reply(200, [[{ Result: { ResponseStatus: { ErrorCode: 500, IsSuccess: false, Errors: [{ FieldName: null, Message: '调用次数超过限制', DIndex: 0 }], MsgCode: 14 } } }]])
      .post(QUERY)
      .reply(200, []);
    await readPages(connector().streams.customers);
    expect(logs.map((l) => l.outcome)).toEqual(['ok', 'CONNECTOR_RATE_LIMITED', 'ok']);
    expect(clock.sleeps).toEqual([50]); // full jitter 0.5 × 100 ms
  });

  it('retries a 500 (the query POST is idempotent) and keeps the session', async () => {
    const logins = login('sid-1');
    nock(ORIGIN).post(QUERY).reply(500, '<html><body>500 - Internal server error.</body></html>', { 'Content-Type': 'text/html' });
    nock(ORIGIN).post(QUERY).matchHeader('kdservice-sessionid', 'sid-1').reply(200, [customerRow(100001, 'CUST10001', '2026-02-18T10:00:00')]);
    const records = recordsOf(await readPages(connector().streams.customers));
    expect(records).toHaveLength(1);
    expect(logins.isDone()).toBe(true);
    expect(logs.map((l) => l.outcome)).toEqual(['ok', 'CONNECTOR_UNAVAILABLE', 'ok']);
    expect(clock.sleeps).toEqual([50]);
  });

  it('fails a 200 whose body is not JSON with CONNECTOR_BAD_RESPONSE', async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).reply(200, '[["CUST10001","张伟",', { 'Content-Type': 'application/json' });
    const err = await failure(readPages(connector().streams.customers));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('not JSON');
  });

  it('fails rows whose width does not match FieldKeys with CONNECTOR_BAD_RESPONSE', async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).reply(200, [[100001, 'CUST10001']]);
    const err = await failure(readPages(connector().streams.customers));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('row 0 has 2 values for 8 FieldKeys');
  });

  it("fails an object where rows should be (a Save-style answer to a query)", async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).reply(200, { Result: { ResponseStatus: { IsSuccess: true } } });
    const err = await failure(readPages(connector().streams.customers));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('instead of an array of rows');
  });

  it("maps the public gateway's HTTP 519 auth errcodes to CONNECTOR_AUTH_FAILED, not a retryable 5xx", async () => {
    nock(ORIGIN)
      .post(LOGIN)
      .reply(519, { errcode: 4002, description: 'Unauthorized, APP_ID is empty[GW]', description_cn: '认证失败, 应用ID为空[网关]' });
    const again = nock(ORIGIN).post(LOGIN).reply(200, loginBody('x'));
    const err = await failure(readPages(connector().streams.customers));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.vendorErrors).toEqual([{ code: 'errcode 4002', message: '认证失败, 应用ID为空[网关]' }]);
    expect(again.isDone()).toBe(false);
  });
});

describe('incremental paging by modify date', () => {
  const T1 = '2026-01-05T09:00:00';
  const T2 = '2026-01-06T10:30:00.5';
  const T3 = '2026-01-07T08:00:00';
  const AFTER_R2 = "(FModifyDate > '2026-01-06 10:30:00.5' OR (FModifyDate = '2026-01-06 10:30:00.5' AND FCUSTID > 100002))";
  const AFTER_R4 = "(FModifyDate > '2026-01-07 08:00:00' OR (FModifyDate = '2026-01-07 08:00:00' AND FCUSTID > 100004))";

  it('pages by keyset, resumes exactly after a crash between pages (ties on FModifyDate included), and ends on a short page', async () => {
    login('sid-1');
    const seen: QueryData[] = [];
    const record = (b: unknown) => {
      seen.push(dataOf(b));
      return true;
    };
    nock(ORIGIN)
      .post(QUERY, (b) => record(b) && dataOf(b).FilterString === '')
      .reply(200, [customerRow(100001, 'CUST10001', T1), customerRow(100002, 'CUST10002', T2)]);
    // The keyset alone: no settle window (the tests below hold it).
    const c = connector({ streams: { customers: { pageSize: 2 } }, options: { acctId: ACCT, settleSeconds: 0 } });

    // The pipeline stores page 1 and its cursor, then the worker dies.
    const first = await readFirstPages(c.streams.customers, 1);
    expect(first[0].hasMore).toBe(true);
    expect(JSON.parse(first[0].cursor!)).toEqual({ v: 1, stream: 'customers', form: 'BD_Customer', keys: ['FModifyDate', 'FCUSTID'], after: ['2026-01-06 10:30:00.5', 100002] });

    // A new worker resumes from the stored cursor: row 3 shares row 2's FModifyDate.
    nock(ORIGIN)
      .post(QUERY, (b) => record(b) && dataOf(b).FilterString === AFTER_R2)
      .reply(200, [customerRow(100003, 'CUST10003', T2), customerRow(100004, 'CUST10004', T3)])
      .post(QUERY, (b) => record(b) && dataOf(b).FilterString === AFTER_R4)
      .reply(200, []);
    const rest = await readPages(c.streams.customers, first[0].cursor);
    const ids = recordsOf([...first, ...rest]).map((r) => r.externalId);
    expect(ids).toEqual(['CUST10001', 'CUST10002', 'CUST10003', 'CUST10004']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(rest.map((p) => p.hasMore)).toEqual([true, false]);
    // An empty last page keeps the position: the next incremental run starts after row 4.
    expect(JSON.parse(rest[1].cursor!).after).toEqual(['2026-01-07 08:00:00', 100004]);
    for (const q of seen) {
      expect(q).toMatchObject({ FormId: 'BD_Customer', OrderString: 'FModifyDate ASC,FCUSTID ASC', StartRow: 0, Limit: 2, TopRowCount: 0 });
    }
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('holds the cursor a settle window behind the server time, hands on only rows the window had not seen, and lets go once it has passed', async () => {
    login('sid-1');
    const queries: QueryData[] = [];
    const answer = (rows: unknown[][]) => nock(ORIGIN).post(QUERY, (b) => queries.push(dataOf(b)) > 0).reply(200, rows);
    const r1 = customerRow(100001, 'CUST10001', '2026-02-18T09:00:00');
    const r2 = customerRow(100002, 'CUST10002', '2026-02-18T10:00:08');
    const r3 = customerRow(100003, 'CUST10003', '2026-02-18T10:00:09.5');
    const c = connector(); // default settleSeconds: 10
    answer([r1, r2, r3]);
    const [first] = await readPages(c.streams.customers);
    // The newest stamp read (10:00:09.5) is the server's time as far as we know: the window starts 10 s before it.
    expect(JSON.parse(first.cursor!)).toEqual({
      v: 1,
      stream: 'customers',
      form: 'BD_Customer',
      keys: ['FModifyDate', 'FCUSTID'],
      after: ['2026-02-18 10:00:09.5', 100003],
      window: { from: ['2026-02-18 09:59:59.500'], seen: [['2026-02-18 10:00:08', 100002], ['2026-02-18 10:00:09.5', 100003]], newest: '2026-02-18 10:00:09.500', at: clock.now() },
    });

    // Next run: a Save stamped 10:00:05 committed after the read, and a new row.
    const late = customerRow(100004, 'CUST10004', '2026-02-18T10:00:05');
    const fresh = customerRow(100005, 'CUST10005', '2026-02-18T10:00:12');
    answer([late, r2, r3, fresh]);
    const [second] = await readPages(c.streams.customers, first.cursor);
    expect(queries[1]).toMatchObject({ FilterString: "FModifyDate > '2026-02-18 09:59:59.500'", Limit: 502 }); // room for the 2 rows skipped
    expect(second.records.map((r) => r.externalId)).toEqual(['CUST10004', 'CUST10005']);
    expect(second.hasMore).toBe(false);

    // Nothing new, but the window has passed (process clock): read it once more, then the exact position.
    clock.advance(11_000);
    answer([late, r2, r3, fresh]);
    const [third] = await readPages(c.streams.customers, second.cursor);
    expect(queries[2].FilterString).toBe("FModifyDate > '2026-02-18 10:00:02.000'");
    expect(third.records).toEqual([]);
    expect(JSON.parse(third.cursor!)).toEqual({ v: 1, stream: 'customers', form: 'BD_Customer', keys: ['FModifyDate', 'FCUSTID'], after: ['2026-02-18 10:00:12', 100005] });
    answer([]);
    await readPages(c.streams.customers, third.cursor);
    expect(queries[3].FilterString).toBe("(FModifyDate > '2026-02-18 10:00:12' OR (FModifyDate = '2026-02-18 10:00:12' AND FCUSTID > 100005))");
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('keeps the window where the read started: a row a first page missed is read again even when later pages bring newer stamps', async () => {
    login('sid-1');
    const queries: QueryData[] = [];
    nock(ORIGIN)
      .post(QUERY, (b) => queries.push(dataOf(b)) > 0)
      .reply(200, [customerRow(100001, 'CUST10001', '2026-02-18T10:00:00'), customerRow(100002, 'CUST10002', '2026-02-18T10:00:01')])
      .post(QUERY, (b) => queries.push(dataOf(b)) > 0)
      .reply(200, [customerRow(100003, 'CUST10003', '2026-02-18T10:01:01')]);
    const c = connector({ streams: { customers: { pageSize: 2 } } });
    const pages: SourcePage[] = [];
    for await (const page of c.streams.customers.read(null)) {
      pages.push(page);
      clock.advance(60_000); // the second page is read a minute later, rows stamped meanwhile come with it
    }
    // A Save stamped 10:00:00.5 may have been in flight during page 1: the cursor must not pass it,
    // although the newest row read is 10:01:01 (10:00:01 when the read started, less 10 s).
    expect(JSON.parse(pages[1].cursor!).window.from).toEqual(['2026-02-18 09:59:51.000']);
    nock(ORIGIN)
      .post(QUERY, (b) => queries.push(dataOf(b)) > 0)
      .reply(200, [
        customerRow(100001, 'CUST10001', '2026-02-18T10:00:00'),
        customerRow(100009, 'CUST10009', '2026-02-18T10:00:00.5'),
        customerRow(100002, 'CUST10002', '2026-02-18T10:00:01'),
        customerRow(100003, 'CUST10003', '2026-02-18T10:01:01'),
      ]);
    const again = recordsOf(await readPages(c.streams.customers, pages[1].cursor, { pageSize: 2 }));
    expect(queries[2]).toMatchObject({ FilterString: "FModifyDate > '2026-02-18 09:59:51.000'", Limit: 5 });
    expect(again.map((r) => r.externalId)).toEqual(['CUST10009']);
  });

  it('refuses a malformed settle window in a stored cursor', async () => {
    const base = { v: 1, stream: 'customers', form: 'BD_Customer', keys: ['FModifyDate', 'FCUSTID'], after: ['2026-01-06 10:30:00', 100002] };
    for (const window of [
      { from: ['2026-01-06 10:40:00'], seen: [], newest: '2026-01-06 10:30:00', at: 0 }, // starts after the position
      { from: ['2026-01-06 10:20:00'], seen: [['x', 1]], newest: '2026-01-06 10:30:00', at: 0 },
      { from: ['2026-01-06 10:20:00'], seen: [], newest: 'yesterday', at: 0 },
    ]) {
      const err = await failure(readPages(connector().streams.customers, JSON.stringify({ ...base, window })));
      expect(err.code).toBe('CONNECTOR_MISCONFIGURED');
      expect(err.message).toContain('window');
    }
  });

  it('ANDs the configured filter with the position, and orders sales order lines by header and entry id', async () => {
    login('sid-1');
    const cursor = JSON.stringify({ v: 1, stream: 'sales_orders', form: 'SAL_SaleOrder', keys: ['FModifyDate', 'FID', 'FSaleOrderEntry_FEntryID'], after: ['2026-01-06 10:30:00', 100007, 500011] });
    const q = nock(ORIGIN)
      .post(
        QUERY,
        (b) =>
          dataOf(b).FormId === 'SAL_SaleOrder' &&
          dataOf(b).OrderString === 'FModifyDate ASC,FID ASC,FSaleOrderEntry_FEntryID ASC' &&
          dataOf(b).FilterString ===
            "(FDocumentStatus = 'C') AND ((FModifyDate > '2026-01-06 10:30:00' OR (FModifyDate = '2026-01-06 10:30:00' AND (FID > 100007 OR (FID = 100007 AND FSaleOrderEntry_FEntryID > 500011)))))",
      )
      .reply(200, []);
    const pages = await readPages(connector({ streams: { sales_orders: { filter: "FDocumentStatus = 'C'" } } }).streams.sales_orders, cursor);
    expect(q.isDone()).toBe(true);
    expect(pages).toEqual([{ records: [], cursor, hasMore: false }]);
  });

  it('gives sales order lines the id "<FBillNo>-<FSeq>" and keeps the default spare-part filter on materials', async () => {
    login('sid-1');
    nock(ORIGIN)
      .post(QUERY, (b) => dataOf(b).FormId === 'SAL_SaleOrder')
      .reply(200, [[100001, 'XSDD000101', '2019-12-07T00:00:00', 'CUST10003', '王芳', 'PRE001', 'C', 500001, 2, 'KFR-35GW/BpR3DN1', 1, 2899, 'GB35R1912623117', '2019-12-07T07:05:00']]);
    const mat = nock(ORIGIN).post(QUERY, (b) => dataOf(b).FormId === 'BD_MATERIAL' && dataOf(b).FilterString === "FMaterialGroup.FNumber = 'SP'").reply(200, []);
    const c = connector();
    const [line] = recordsOf(await readPages(c.streams.sales_orders));
    expect(line.externalId).toBe('XSDD000101-2');
    expect(line.payload).toMatchObject({ 'FCustId.FNumber': 'CUST10003', SerialNo: 'GB35R1912623117', FSaleOrderEntry_FSeq: 2 });
    await readPages(c.streams.materials);
    expect(mat.isDone()).toBe(true);
  });

  it('stops with a clear error when the server repeats a page instead of moving on', async () => {
    login('sid-1');
    const page = [customerRow(100001, 'CUST10001', T1), customerRow(100002, 'CUST10002', T2)];
    nock(ORIGIN).post(QUERY).times(2).reply(200, page); // second answer ignores the FilterString
    const pages: SourcePage[] = [];
    const err = await failure(
      (async () => {
        for await (const p of connector({ streams: { customers: { pageSize: 2 } } }).streams.customers.read(null)) pages.push(p);
      })(),
    );
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('row 0 (FModifyDate=2026-01-05 09:00:00, FCUSTID=100001) is not after the position already read');
    expect(pages).toHaveLength(1); // the repeated rows were never handed on
  });

  it('stops when rows within one page go backwards, also after a /Date(...)/ row', async () => {
    login('sid-1');
    // 10:12:33.123 local as /Date/, then the same instant written locally with a smaller id.
    const page = [customerRow(100001, 'CUST10001', T1), customerRow(100009, 'CUST10009', '/Date(1771380753123+0800)/'), customerRow(100008, 'CUST10008', '2026-02-18T10:12:33.123')];
    nock(ORIGIN).post(QUERY).reply(200, page);
    const err = await failure(readPages(connector({ streams: { customers: { pageSize: 3 } } }).streams.customers));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('row 2 (FModifyDate=2026-02-18 10:12:33.123, FCUSTID=100008) is not after the position already read (FModifyDate=2026-02-18 10:12:33.123, FCUSTID=100009)');
  });

  it('returns one empty page for an empty result and keeps a given cursor', async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).times(2).reply(200, []);
    const c = connector();
    expect(await readPages(c.streams.customers)).toEqual([{ records: [], cursor: null, hasMore: false }]);
    const cursor = JSON.stringify({ v: 1, stream: 'customers', form: 'BD_Customer', keys: ['FModifyDate', 'FCUSTID'], after: ['2026-01-06 10:30:00', 100002] });
    expect(await readPages(c.streams.customers, cursor)).toEqual([{ records: [], cursor, hasMore: false }]);
  });

  it('reads /Date(...)/ modify dates and writes the position in server-local time', async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).reply(200, [customerRow(100009, 'CUST10009', '/Date(1771380753123+0800)/')]);
    const [page] = await readPages(connector().streams.customers);
    expect(page.records[0].updatedAt).toBe('2026-02-18T02:12:33.123Z');
    expect(JSON.parse(page.cursor!).after).toEqual(['2026-02-18 10:12:33.123', 100009]);
  });

  it('refuses a cursor written for other keys or another stream instead of guessing', async () => {
    const c = connector();
    const other = JSON.stringify({ v: 1, stream: 'customers', form: 'BD_Customer', keys: ['FApproveDate', 'FCUSTID'], after: ['2026-01-06 10:30:00', 1] });
    const err = await failure(readPages(c.streams.customers, other));
    expect(err.code).toBe('CONNECTOR_MISCONFIGURED');
    expect(err.message).toContain('reset the stream');
    const wrongStream = JSON.stringify({ v: 1, stream: 'inventory', form: 'STK_Inventory', startRow: 5 });
    expect((await failure(readPages(c.streams.customers, wrongStream))).code).toBe('CONNECTOR_MISCONFIGURED');
  });

  it('refuses a row without a numeric id', async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).reply(200, [customerRow(Number.NaN, 'CUST10001', T1).map((v, i) => (i === 0 ? null : v))]);
    const err = await failure(readPages(connector().streams.customers));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('FCUSTID null is not a numeric id');
  });
});

describe('inventory snapshot: keyset paging and lots summed per warehouse', () => {
  const inv = (fid: string, material: string, stock: string, lot: string, qty: number | string) => [fid, material, '压缩机', stock, stock === 'CK001' ? '上海仓' : '广州仓', '100', lot, qty];
  const after = (m: string, s: string, fid?: string) =>
    fid === undefined
      ? `(FMaterialId.FNumber > '${m}' OR (FMaterialId.FNumber = '${m}' AND FStockId.FNumber > '${s}'))`
      : `(FMaterialId.FNumber > '${m}' OR (FMaterialId.FNumber = '${m}' AND (FStockId.FNumber > '${s}' OR (FStockId.FNumber = '${s}' AND FID > '${fid}'))))`;

  it('pages by keyset on material, stock and FID, sums a group split across pages, and resumes after the last delivered group', async () => {
    login('sid-1');
    const filters: string[] = [];
    const body = (filter: string) => (b: unknown) => {
      const d = dataOf(b);
      if (d.FilterString !== filter) return false;
      filters.push(filter);
      return d.FieldKeys === INVENTORY_KEYS && d.StartRow === 0 && d.Limit === 2 && d.OrderString === 'FMaterialId.FNumber ASC,FStockId.FNumber ASC,FID ASC';
    };
    nock(ORIGIN)
      .post(QUERY, body(''))
      .reply(200, [inv('f1', 'A', 'CK001', '', 5), inv('f2', 'A', 'CK002', 'L1', 3)])
      .post(QUERY, body(after('A', 'CK002', 'f2')))
      .reply(200, [inv('f3', 'A', 'CK002', 'L2', 4.25), inv('f4', 'B', 'CK001', '', 1)])
      .post(QUERY, body(after('B', 'CK001', 'f4')))
      .reply(200, [inv('f5', 'B', 'CK001', 'L9', 2)]);
    const c = connector({ streams: { inventory: { pageSize: 2 } } });
    const pages = await readPages(c.streams.inventory);
    expect(filters).toHaveLength(3);
    expect(pages.map((p) => p.records.map((r) => [r.externalId, (r.payload as { FBaseQty: number }).FBaseQty]))).toEqual([[['A|CK001', 5]], [['A|CK002', 7.25]], [['B|CK001', 3]]]);
    expect(pages.map((p) => p.hasMore)).toEqual([true, true, false]);
    expect(pages.map((p) => (p.cursor ? JSON.parse(p.cursor).after : null))).toEqual([['A', 'CK001'], ['A', 'CK002'], null]); // a snapshot starts over next run
    const split = pages[1].records[0].payload as Record<string, unknown>;
    expect(split).toMatchObject({ 'FMaterialId.FNumber': 'A', 'FStockId.FNumber': 'CK002', 'FStockId.FName': '广州仓', FBaseQty: 7.25 });
    expect(split).not.toHaveProperty('FLot.FNumber'); // differs between the lots: only in rows
    expect((split.rows as unknown[]).length).toBe(2);

    // Resume after a crash that followed page 1: the held-back group A|CK002 is read again, whole.
    nock(ORIGIN)
      .post(QUERY, body(after('A', 'CK001')))
      .reply(200, [inv('f2', 'A', 'CK002', 'L1', 3), inv('f3', 'A', 'CK002', 'L2', 4.25)])
      .post(QUERY, body(after('A', 'CK002', 'f3')))
      .reply(200, [inv('f4', 'B', 'CK001', '', 1), inv('f5', 'B', 'CK001', 'L9', 2)])
      .post(QUERY, body(after('B', 'CK001', 'f5')))
      .reply(200, []);
    const resumed = recordsOf(await readPages(c.streams.inventory, pages[0].cursor));
    expect(resumed.map((r) => [r.externalId, (r.payload as { FBaseQty: number }).FBaseQty])).toEqual([
      ['A|CK002', 7.25],
      ['B|CK001', 3],
    ]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('starts over from a cursor of the former StartRow paging, and refuses a malformed one', async () => {
    login('sid-1');
    const q = nock(ORIGIN).post(QUERY, (b) => dataOf(b).FilterString === '').reply(200, [inv('f1', 'A', 'CK001', '', 5)]);
    const old = JSON.stringify({ v: 1, stream: 'inventory', form: 'STK_Inventory', startRow: 40 });
    expect(recordsOf(await readPages(connector().streams.inventory, old)).map((r) => r.externalId)).toEqual(['A|CK001']);
    expect(q.isDone()).toBe(true);
    const bad = JSON.stringify({ v: 1, stream: 'inventory', form: 'STK_Inventory', after: ['A'] });
    expect((await failure(readPages(connector().streams.inventory, bad))).code).toBe('CONNECTOR_MISCONFIGURED');
  });

  it('stops with a clear error when the server ignores the position and repeats a page', async () => {
    login('sid-1');
    nock(ORIGIN)
      .post(QUERY)
      .times(2)
      .reply(200, [inv('f1', 'A', 'CK001', '', 5), inv('f2', 'B', 'CK001', '', 3)]);
    const err = await failure(readPages(connector({ streams: { inventory: { pageSize: 2 } } }).streams.inventory));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('the page after FMaterialId.FNumber=B, FStockId.FNumber=CK001, FID=f2 repeats the previous page');
  });

  it('refuses a row without FID: the next page could not be asked for after it', async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).reply(200, [inv('f1', 'A', 'CK001', '', 5), inv('', 'B', 'CK001', '', 3)]);
    const err = await failure(readPages(connector({ streams: { inventory: { pageSize: 2 } } }).streams.inventory));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('row 1 (B|CK001) has no FID');
  });

  it('refuses a quantity that is not a number', async () => {
    login('sid-1');
    nock(ORIGIN).post(QUERY).reply(200, [inv('f1', 'A', 'CK001', '', 'n/a')]);
    const err = await failure(readPages(connector().streams.inventory));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
    expect(err.message).toContain('FBaseQty "n/a" is not a number');
  });
});

describe('configuration', () => {
  it('reports every problem at once, without credential values', () => {
    let err: ConnectorError | undefined;
    try {
      connector({
        credentials: { username: { env: 'KD_USER' }, password: { env: 'KD_PASSWORD' }, appId: { env: 'KD_APP_ID' } },
        options: { lcid: 'zh', region: 'cn', settleSeconds: 2.5 },
        streams: {
          orders: {},
          customers: { pageSize: 5000, sort: 'x' },
          serials: { fields: { WarrantyEnd: 'F_ABC WarrantyEnd', FSERIALID: null } },
        },
      });
    } catch (e) {
      err = e as ConnectorError;
    }
    expect(err?.code).toBe('CONNECTOR_MISCONFIGURED');
    for (const text of [
      'options.region: unknown option',
      'options.acctId: required',
      'options.lcid',
      'options.settleSeconds: must be an integer from 0 to 3600',
      'not both',
      'streams.orders: unknown stream',
      'streams.customers.pageSize: must be an integer from 1 to 2000',
      'streams.customers.sort: unknown setting',
      'streams.serials.fields.WarrantyEnd: must be a field key',
      'streams.serials.fields.FSERIALID: the stream needs this column',
    ]) {
      expect(err?.message).toContain(text);
    }
    expect(err?.message).not.toContain(PASSWORD);
  });

  it('lets an admin re-point, add and drop columns; rows stay keyed by column name', async () => {
    login('sid-1');
    let fieldKeys = '';
    nock(ORIGIN)
      .post(QUERY, (b) => {
        fieldKeys = String(dataOf(b).FieldKeys);
        return true;
      })
      .reply(200, [[230001, 'GA72H2305664204', 'KFR-72LW/N8HR3', 'CUST10001', '2023-05-20T00:00:00', '2029-05-19T00:00:00', '2023-05-20T16:25:00', 'SO-1']]);
    const c = connector({ streams: { serials: { fields: { WarrantyEnd: 'F_ABC_WarrantyEnd', Firmware: null, OrderNo: 'F_ABC_OrderNo' } } } });
    const [rec] = recordsOf(await readPages(c.streams.serials));
    expect(fieldKeys).toBe('FSERIALID,FNumber,FMaterialID.FNumber,F_JUN_CustId.FNumber,F_JUN_ShipDate,F_ABC_WarrantyEnd,FModifyDate,F_ABC_OrderNo');
    expect(rec.externalId).toBe('230001');
    expect(rec.payload).toMatchObject({ WarrantyEnd: '2029-05-19T00:00:00', OrderNo: 'SO-1' });
    expect(rec.payload).not.toHaveProperty('Firmware');
  });
});
