/**
 * A Kingdee K3 Cloud WebAPI stand-in for the demo and end-to-end tests: a plain node `http`
 * server that answers the way a K3 Cloud site does for the calls the connector makes.
 *
 *   POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc
 *   POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret.common.kdsvc
 *   POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.Logout.common.kdsvc
 *   POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc
 *   POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc
 *
 * - Logins take the named body (`{acctID, username, password, lcid}`) or the positional one
 *   (`{parameters: [...]}`, also as a JSON string inside the SDK envelope). Success is HTTP 200
 *   with `LoginResultType: 1`, `KDSVCSessionId` and the cookies `kdservice-sessionid` and
 *   `ASP.NET_SessionId`; failure is HTTP 200 with another LoginResultType and a `Message`.
 * - Every other call needs the session (cookie or `kdservice-sessionid` header); without it the
 *   answer is HTTP 200 with `MsgCode: 1` and "会话信息已丢失，请重新登录".
 * - ExecuteBillQuery takes `{data: {...}}` or `{parameters: ["{...}"]}`, returns rows as arrays
 *   in FieldKeys order, and reports errors as `[[{"Result":{"ResponseStatus":{...}}}]]`.
 *   Limit is capped at 2000 rows, as K3 documents.
 * - Save upserts base data by number and answers `{"Result":{"ResponseStatus":{...},"Id","Number"}}`.
 *
 * Message wording for errors K3 does not document (unknown form, unknown field, filter syntax)
 * is the sandbox's own; the envelope shapes and MsgCodes follow the vendor's.
 */
import { randomUUID } from 'crypto';
import { createServer, IncomingMessage, ServerResponse } from 'http';
import { readSandboxBody } from '../../../src/connectors/sandbox-body';
import type { AddressInfo, Socket } from 'net';
import { buildKingdeeData, KingdeeSandboxData, SandboxForm, toKingdeeDateTime } from './data';
import { compileFilter, FilterError, resolveColumn } from './filter';
import { orderedWindow } from './order';
import { formChanged, indexedWindow } from './form-index';
import { DEMO_NOW } from '../../../src/demo/dataset';
import { EffectCounter } from '../../../src/connectors/sandbox-effects';

export const SESSION_LOST_MESSAGE = '会话信息已丢失，请重新登录';
export const WRONG_PASSWORD_MESSAGE = '用户名或密码错误！';
/** K3 documents a page of at most 2000 rows. */
export const MAX_LIMIT = 2000;

export interface SandboxRequest {
  /** Service name without `.common.kdsvc`, e.g. `ExecuteBillQuery`. */
  service: string;
  /** Parsed JSON body (logins included: this log stays in the test process). */
  body: unknown;
  /** The query or save arguments, when the call carried them. */
  args?: Record<string, unknown>;
  sessionId?: string;
}

export interface StartOptions {
  /** 0 (default) = a free port. */
  port?: number;
  host?: string;
  /** Defaults to buildKingdeeData({ scale }). */
  data?: KingdeeSandboxData;
  scale?: number;
}

export interface KingdeeSandboxControl {
  /**
   * The live account set: tests may read it to compute expectations. Change rows through `modify`
   * or Save (or call `formChanged` after editing a row in place): the sandbox keeps per-form
   * indexes; adding or removing rows directly is noticed.
   */
  readonly data: KingdeeSandboxData;
  /** Every call received, in order. */
  readonly requests: SandboxRequest[];
  /** Successful logins so far. */
  readonly logins: number;
  /** The next `count` calls (any service) answer `status` with `body` (default: an IIS error page). */
  failNext(count: number, status?: number, body?: string, headers?: Record<string, string>): void;
  /** The next `count` calls answer after `ms` milliseconds. */
  delayNext(count: number, ms: number): void;
  /** The next `count` calls answer HTTP 200 with a truncated, unparseable JSON body. */
  garbleNext(count: number): void;
  /** The next `count` calls that carry a session find it gone (MsgCode 1), as after an idle timeout. */
  loseSessionNext(count: number): void;
  /** Forgets every session at once (server restart / global timeout). */
  expireSessions(): void;
  /**
   * Changes the rows of `formId` whose fields equal `where` and stamps them with a new
   * FModifyDate (when the form has one). Returns the number of rows changed.
   */
  modify(formId: string, where: Record<string, unknown>, changes: Record<string, unknown>): number;
  /** The sandbox clock in K3 server-local form; every modify/save advances it by 1.234 s. */
  now(): string;
  /** Drops pending injections and the request log. */
  reset(): void;
  /** Saves counted by the F_JUNC_Key they carried; also served as `GET /__sandbox/effects`. */
  readonly effects: EffectCounter;
  /** The next `count` calls of `service` (default Save) are carried out, then the connection is cut before the answer. */
  loseResponseNext(count: number, service?: string): void;
}

export interface KingdeeSandbox {
  /** Base URL to configure the connector with, e.g. `http://127.0.0.1:41234/k3cloud/`. */
  url: string;
  control: KingdeeSandboxControl;
  close(): Promise<void>;
}

interface Injection {
  count: number;
}

const IIS_ERROR_PAGE = '<!DOCTYPE html><html><head><title>500 - Internal server error.</title></head><body><h2>500 - Internal server error.</h2></body></html>';

export async function startKingdeeSandbox(options: StartOptions = {}): Promise<KingdeeSandbox> {
  const data = options.data ?? buildKingdeeData({ scale: options.scale });
  const sessions = new Map<string, { username: string }>();
  const requests: SandboxRequest[] = [];
  let logins = 0;
  let clock = Date.parse(DEMO_NOW);
  const failures: (Injection & { status: number; body?: string; headers?: Record<string, string> })[] = [];
  const delays: (Injection & { ms: number })[] = [];
  let garble = 0;
  const losses: (Injection & { service: string })[] = [];
  const effects = new EffectCounter();
  let loseSession = 0;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const tick = () => {
    clock += 1234;
    return toKingdeeDateTime(clock);
  };
  const take = <T extends Injection>(list: T[]): T | undefined => {
    const first = list[0];
    if (!first) return undefined;
    if (--first.count <= 0) list.shift();
    return first;
  };

  const control: KingdeeSandboxControl = {
    data,
    requests,
    get logins() {
      return logins;
    },
    effects,
    loseResponseNext(count, service = 'save') {
      losses.push({ count, service: service.toLowerCase() });
    },
    failNext(count, status = 500, body, headers) {
      failures.push({ count, status, body, headers });
    },
    delayNext(count, ms) {
      delays.push({ count, ms });
    },
    garbleNext(count) {
      garble += count;
    },
    loseSessionNext(count) {
      loseSession += count;
    },
    expireSessions() {
      sessions.clear();
    },
    modify(formId, where, changes) {
      const form = findForm(data, formId);
      if (!form) throw new Error(`sandbox has no form ${formId}`);
      const keyOf = (k: string) => {
        const c = resolveColumn(form.columns, k);
        if (!c) throw new Error(`sandbox form ${formId} has no field ${k}`);
        return c;
      };
      const match = Object.entries(where).map(([k, v]) => [keyOf(k), v] as const);
      const set = Object.entries(changes).map(([k, v]) => [keyOf(k), v] as const);
      const modifyKey = resolveColumn(form.columns, 'FModifyDate');
      let n = 0;
      for (const row of form.rows) {
        if (!match.every(([k, v]) => row[k] === v)) continue;
        for (const [k, v] of set) row[k] = v as string | number | null;
        if (modifyKey) row[modifyKey] = tick();
        n++;
      }
      if (n > 0) formChanged(form);
      return n;
    },
    now: () => toKingdeeDateTime(clock),
    reset() {
      failures.length = 0;
      delays.length = 0;
      garble = 0;
      loseSession = 0;
      losses.length = 0;
      requests.length = 0;
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (effects.serve(req, res)) return;
    const m = /^\/k3cloud\/([A-Za-z0-9_.]+)\.common\.kdsvc$/i.exec((req.url ?? '').split('?')[0]);
    if (req.method !== 'POST' || !m) {
      return send(res, 404, '<html><body>404 - File or directory not found.</body></html>', 'text/html');
    }
    const service = m[1].split('.').pop()!;
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw.trim() ? JSON.parse(raw) : {};
    } catch {
      body = undefined;
    }
    const sessionId = sessionOf(req);
    const entry: SandboxRequest = { service, body, sessionId };
    requests.push(entry);

    const delay = take(delays);
    if (delay) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, delay.ms);
        timers.add(t);
      });
      if (res.destroyed) return;
    }
    const failure = take(failures);
    if (failure) return send(res, failure.status, failure.body ?? IIS_ERROR_PAGE, failure.body ? 'application/json' : 'text/html', failure.headers);
    if (garble > 0) {
      garble--;
      return send(res, 200, '[["CUST10001","张伟",', 'application/json; charset=utf-8');
    }
    if (body === undefined) return sendJson(res, opError('请求的 JSON 格式不正确', 8));

    switch (service.toLowerCase()) {
      case 'validateuser':
      case 'loginbyappsecret':
        return login(res, service.toLowerCase() === 'loginbyappsecret', body);
      case 'logout':
        if (sessionId) sessions.delete(sessionId);
        return sendJson(res, true);
    }

    // Everything else needs the session.
    if (!sessionId || !sessions.has(sessionId) || loseSession > 0) {
      if (sessionId && sessions.has(sessionId) && loseSession > 0) {
        loseSession--;
        sessions.delete(sessionId);
      }
      const lost = statusOf([{ FieldName: null, Message: SESSION_LOST_MESSAGE, DIndex: 0 }], 1);
      return sendJson(res, service.toLowerCase() === 'executebillquery' ? [[{ Result: { ResponseStatus: lost } }]] : { Result: { ResponseStatus: lost } });
    }
    const answer = (out: unknown) => {
      // A lost response: the work is done, the answer never arrives.
      if (losses[0]?.service === service.toLowerCase() && take(losses)) return void req.socket.destroy();
      return sendJson(res, out);
    };
    switch (service.toLowerCase()) {
      case 'executebillquery':
        return answer(query(entry, body));
      case 'save':
        return answer(save(entry, body));
      default:
        return sendJson(res, opError(`服务 ${service} 未在沙箱中实现`, 4));
    }
  };

  const login = (res: ServerResponse, byAppSecret: boolean, body: unknown) => {
    const args = loginArgs(body, byAppSecret);
    const fail = (type: number, message: string) =>
      sendJson(res, {
        Message: message,
        MessageCode: '',
        LoginResultType: type,
        Context: null,
        KDSVCSessionId: null,
        FormId: null,
        RedirectFormParam: null,
        FormInputObject: null,
        ErrorStackTrace: null,
        Lcid: 0,
        AccessToken: null,
        KdAccessResult: null,
        IsSuccessByAPI: false,
      });
    if (!args) return fail(-1, '登录参数格式不正确');
    if (args.acctId !== data.acctId) return fail(-1, `数据中心[${args.acctId}]不存在`);
    let username: string | undefined;
    if (byAppSecret) {
      const app = data.apps.find((a) => a.appId === args.appId && a.username === args.username);
      if (!app || app.appSecret !== args.secret) return fail(0, '第三方系统登录授权验证失败，请检查应用ID与应用密钥');
      username = app.username;
    } else {
      const user = data.users.find((u) => u.username === args.username);
      if (!user || user.password !== args.secret) return fail(0, WRONG_PASSWORD_MESSAGE);
      username = user.username;
    }
    const sid = randomUUID();
    const aspnet = randomUUID().replace(/-/g, '').slice(0, 24);
    sessions.set(sid, { username });
    logins++;
    const headers = {
      'Set-Cookie': [`kdservice-sessionid=${sid}; path=/`, `ASP.NET_SessionId=${aspnet}; path=/; HttpOnly; SameSite=Lax`],
    };
    return sendJson(
      res,
      {
        Message: null,
        MessageCode: 'CheckPasswordPolicy',
        LoginResultType: 1,
        Context: {
          UserLocale: 'zh-CN',
          LogLocale: 'zh-CN',
          DBid: data.acctId,
          DatabaseType: 3,
          SessionId: aspnet,
          UseLanguages: [{ LocaleId: 2052, LocaleName: '中文(简体)', Alias: 'CN' }],
          UserId: 100008,
          UserName: username,
          CustomName: data.acctName,
          DataCenterNumber: '001',
          DataCenterName: data.acctName,
          UserToken: randomUUID(),
        },
        KDSVCSessionId: sid,
        FormId: null,
        RedirectFormParam: null,
        FormInputObject: null,
        ErrorStackTrace: null,
        Lcid: args.lcid,
        AccessToken: null,
        KdAccessResult: null,
        IsSuccessByAPI: true,
      },
      headers,
    );
  };

  const query = (entry: SandboxRequest, body: unknown): unknown => {
    const fail = (message: string, msgCode: number, field: string | null = null) => [
      [{ Result: { ResponseStatus: statusOf([{ FieldName: field, Message: message, DIndex: 0 }], msgCode) } }],
    ];
    const args = payloadOf(body, 0);
    if (!args) return fail('缺少查询参数 data', 8);
    entry.args = args;
    const formId = String(args.FormId ?? args.formid ?? '');
    const form = findForm(data, formId);
    if (!form) return fail(`业务对象"${formId}"不存在或未发布`, 4);
    const keysText = String(args.FieldKeys ?? '');
    const keys = keysText.split(',').map((k) => k.trim());
    if (!keysText.trim() || keys.some((k) => !k)) return fail('FieldKeys 不能为空', 8, 'FieldKeys');
    const columns: string[] = [];
    for (const k of keys) {
      const c = resolveColumn(form.columns, k);
      if (!c) return fail(`字段"${k}"在业务对象"${form.formId}"中不存在`, 9, k);
      columns.push(c);
    }
    if (args.FilterString !== undefined && args.FilterString !== null && typeof args.FilterString !== 'string') {
      return fail('沙箱只支持字符串形式的 FilterString', 8, 'FilterString');
    }
    const top = toInt(args.TopRowCount);
    const start = Math.max(0, toInt(args.StartRow));
    const limit = toInt(args.Limit);
    let rows: typeof form.rows;
    try {
      const filterText = String(args.FilterString ?? '');
      const orderText = String(args.OrderString ?? '');
      const window = { top, start, limit: limit > 0 ? Math.min(limit, MAX_LIMIT) : MAX_LIMIT };
      rows =
        indexedWindow(form, filterText, orderText, window) ??
        orderedWindow(form.rows.filter(compileFilter(filterText, form.columns)), orderText, form.columns, window);
    } catch (err) {
      if (err instanceof FilterError) return fail(err.message, 4, err.field ?? null);
      throw err;
    }
    return rows.map((r) => columns.map((c) => r[c] ?? null));
  };

  const save = (entry: SandboxRequest, body: unknown): unknown => {
    const b = (body ?? {}) as Record<string, unknown>;
    let formId = typeof b.formid === 'string' ? b.formid : typeof b.FormId === 'string' ? b.FormId : undefined;
    let args: Record<string, unknown> | undefined;
    const params = parametersOf(b);
    if (params) {
      formId = typeof params[0] === 'string' ? params[0] : formId;
      args = asObject(params[1]);
    } else args = asObject(b.data);
    if (!args) return opError('缺少保存参数 data', 8);
    entry.args = { formid: formId, ...args };
    const form = formId ? findForm(data, formId) : undefined;
    if (!form) return opError(`业务对象"${formId}"不存在或未发布`, 4);
    const model = asObject(args.Model);
    if (!model) return opError('Model 不能为空', 8, 'Model');
    // Flatten {FCustId: {FNumber: 'x'}} → FCustId.FNumber, then resolve every key.
    const values: Record<string, string | number | null> = {};
    const flat: [string, unknown][] = [];
    for (const [k, v] of Object.entries(model)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k2, v2] of Object.entries(v)) flat.push([`${k}.${k2}`, v2]);
      else flat.push([k, v]);
    }
    for (const [k, v] of flat) {
      const c = resolveColumn(form.columns, k);
      if (!c) return opError(`字段"${k}"在业务对象"${form.formId}"中不存在`, 9, k);
      if (v !== null && typeof v !== 'string' && typeof v !== 'number') return opError(`字段"${k}"的值格式不正确`, 8, k);
      values[c] = v;
    }
    const id = Number(values[form.idKey] ?? 0);
    const number = values[form.numberKey];
    let row = id > 0 ? form.rows.find((r) => r[form.idKey] === id) : undefined;
    if (id > 0 && !row) return opError(`${form.idKey}=${id} 的数据不存在`, 10, form.idKey);
    if (!row && number !== undefined && number !== null) row = form.rows.find((r) => String(r[form.numberKey]).toLowerCase() === String(number).toLowerCase());
    const now = tick();
    if (!row) {
      if (number === undefined || number === null || number === '') return opError('编码不能为空', 11, form.numberKey);
      const nextId = form.rows.reduce((max, r) => Math.max(max, Number(r[form.idKey]) || 0), 0) + 1;
      row = Object.fromEntries(Object.keys(form.columns).map((c) => [c, null]));
      row[form.idKey] = nextId;
      const created = resolveColumn(form.columns, 'FCreateDate');
      if (created) row[created] = now;
      const status = resolveColumn(form.columns, 'FDocumentStatus');
      if (status) row[status] = 'A'; // saved, not yet audited
      form.rows.push(row);
    }
    for (const [c, v] of Object.entries(values)) if (c !== form.idKey) row[c] = v;
    const modified = resolveColumn(form.columns, 'FModifyDate');
    if (modified) row[modified] = now;
    formChanged(form);
    const keyColumn = resolveColumn(form.columns, 'F_JUNC_Key');
    if (keyColumn && values[keyColumn]) effects.record(String(values[keyColumn]));
    const rowId = row[form.idKey];
    const rowNumber = row[form.numberKey];
    return {
      Result: {
        ResponseStatus: {
          IsSuccess: true,
          Errors: [],
          SuccessEntitys: [{ Id: rowId, Number: rowNumber, DIndex: 0 }],
          SuccessMessages: [],
          MsgCode: 0,
        },
        Id: rowId,
        Number: rowNumber,
        NeedReturnData: [{}],
      },
    };
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `sandbox error: ${err instanceof Error ? err.message : String(err)}`, 'text/plain');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}/k3cloud/`,
    control,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------

function findForm(data: KingdeeSandboxData, formId: string): SandboxForm | undefined {
  const lower = formId.toLowerCase();
  return Object.values(data.forms).find((f) => f.formId.toLowerCase() === lower);
}

function statusOf(errors: { FieldName: string | null; Message: string; DIndex: number }[], msgCode: number) {
  return { ErrorCode: 500, IsSuccess: false, Errors: errors, SuccessEntitys: [], SuccessMessages: [], MsgCode: msgCode };
}

function opError(message: string, msgCode: number, field: string | null = null) {
  return { Result: { ResponseStatus: statusOf([{ FieldName: field, Message: message, DIndex: 0 }], msgCode), Id: '', Number: '', NeedReturnData: [] } };
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** `parameters` as an array or as the JSON string of one (the SDK envelope). */
function parametersOf(body: Record<string, unknown>): unknown[] | undefined {
  let p = body.parameters;
  if (typeof p === 'string') {
    try {
      p = JSON.parse(p);
    } catch {
      return undefined;
    }
  }
  return Array.isArray(p) ? p : undefined;
}

/** The call's argument object: `data` (object or JSON string) or `parameters[index]`. */
function payloadOf(body: unknown, index: number): Record<string, unknown> | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  if (b.data !== undefined) return asObject(b.data);
  const params = parametersOf(b);
  return params ? asObject(params[index]) : undefined;
}

function loginArgs(body: unknown, byAppSecret: boolean): { acctId: string; username: string; appId?: string; secret: string; lcid: number } | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  const params = parametersOf(b);
  if (params) {
    const [acct, user, a, c, d] = params;
    return byAppSecret
      ? { acctId: String(acct ?? ''), username: String(user ?? ''), appId: String(a ?? ''), secret: String(c ?? ''), lcid: Number(d ?? 2052) }
      : { acctId: String(acct ?? ''), username: String(user ?? ''), secret: String(a ?? ''), lcid: Number(c ?? 2052) };
  }
  const get = (...names: string[]) => {
    const key = Object.keys(b).find((k) => names.includes(k.toLowerCase()));
    return key === undefined ? undefined : b[key];
  };
  const acct = get('acctid');
  const user = get('username');
  if (acct === undefined || user === undefined) return undefined;
  return {
    acctId: String(acct),
    username: String(user),
    appId: byAppSecret ? String(get('appid') ?? '') : undefined,
    secret: String((byAppSecret ? get('appsecret', 'appsec') : get('password')) ?? ''),
    lcid: Number(get('lcid') ?? 2052),
  };
}

function sessionOf(req: IncomingMessage): string | undefined {
  const cookie = req.headers.cookie ?? '';
  const m = /(?:^|;\s*)kdservice-sessionid=([^;]+)/i.exec(cookie);
  if (m) return m[1];
  const h = req.headers['kdservice-sessionid'];
  return typeof h === 'string' && h ? h : undefined;
}

function toInt(v: unknown): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function readBody(req: IncomingMessage): Promise<string> {
  return readSandboxBody(req, { maxBytes: 16 * 1024 * 1024 });
}

function send(res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string | string[]> = {}) {
  if (res.destroyed) return;
  const bytes = Buffer.from(body); // encoded once: Content-Length and the write share it (pages run to megabytes)
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

function sendJson(res: ServerResponse, value: unknown, headers: Record<string, string | string[]> = {}) {
  send(res, 200, JSON.stringify(value), 'application/json; charset=utf-8', headers);
}
