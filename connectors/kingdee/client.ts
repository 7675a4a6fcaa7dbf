/**
 * Typed client for the Kingdee K3 Cloud (金蝶云星空) WebAPI: session login (user + password, or
 * third-party app id + secret), ExecuteBillQuery, Save and Logout, on top of the kit's HTTP layer.
 *
 * The vendor facts it is built on (from Kingdee's SDKs and API documentation):
 * - Every service is `POST {baseUrl}/{ServiceName}.common.kdsvc` with a JSON body; baseUrl is the
 *   site's `/k3cloud/` path.
 * - Logins answer HTTP 200 either way, with `LoginResultType` (Kingdee.BOS's enum, see
 *   LOGIN_RESULT_TYPES): 1 is a session (`KDSVCSessionId` and the cookies `kdservice-sessionid` +
 *   `ASP.NET_SessionId`); -5 (an administrator's login), -4 and -2 are logins with something for
 *   an interactive user to see, still with a session; the rest are refusals with a `Message`.
 *   Later calls carry the session cookies (the SDKs also send the id as a header).
 * - Business failures are HTTP 200 too: `{"Result":{"ResponseStatus":{"IsSuccess":false,
 *   "Errors":[{"FieldName","Message","DIndex"}],"ErrorCode","MsgCode"}}}`; ExecuteBillQuery wraps
 *   the same object as `[[{...}]]` where rows would be. `IsSuccess` may be a boolean or a string.
 * - MsgCode 1 is 上下文丢失 (the session is gone, "会话信息已丢失，请重新登录"): log in again once.
 *   MsgCode 14 is 调用限制 (rate limited), 13 网控冲突 (another user holds the record).
 * - ExecuteBillQuery rows are arrays in FieldKeys order; `Limit` may not exceed 2000.
 * - Kingdee's public gateway answers non-standard HTTP 519 with `{errcode, description}`.
 */
import {
  AuthStrategy,
  Clock,
  ConnectorError,
  ConnectorErrorCode,
  ConnectorHttpOptions,
  defaultVendorErrors,
  HttpClient,
  HttpResponseInfo,
  realClock,
  ResponseClassification,
  Secret,
  VendorError,
} from '../../src/connectors';
import { logger } from '../../src/logging/logger';

const STUB = 'Kingdee.BOS.WebApi.ServicesStub';

/** Service paths, relative to the configured base URL (`https://<host>/k3cloud/`). */
export const KINGDEE_SERVICES = {
  validateUser: `${STUB}.AuthService.ValidateUser.common.kdsvc`,
  loginByAppSecret: `${STUB}.AuthService.LoginByAppSecret.common.kdsvc`,
  logout: `${STUB}.AuthService.Logout.common.kdsvc`,
  executeBillQuery: `${STUB}.DynamicFormService.ExecuteBillQuery.common.kdsvc`,
  save: `${STUB}.DynamicFormService.Save.common.kdsvc`,
} as const;

/** K3 documents that one ExecuteBillQuery page may not exceed 2000 rows. */
export const KINGDEE_MAX_LIMIT = 2000;

/** The session cookie K3 Cloud sets at login. */
export const SESSION_COOKIE = 'kdservice-sessionid';

/**
 * Kingdee.BOS's LoginResultType. `session`: a login that gives a session. Besides Success, the
 * API notes treat DealWithForm (-5, what an administrator's login answers: a form the desktop
 * client would show) as logged in, and Wanning (-4, a login warning) and PWInvalid_Optional (-2,
 * the password misses the policy, changing it is optional) still open a session; an API user
 * cannot act on any of them. PWInvalid_Required (-3) must change the password first.
 */
export const LOGIN_RESULT_TYPES: Record<number, { name: string; session: boolean }> = {
  1: { name: 'Success', session: true },
  0: { name: 'PWError', session: false },
  [-1]: { name: 'Failure', session: false },
  [-2]: { name: 'PWInvalid_Optional', session: true },
  [-3]: { name: 'PWInvalid_Required', session: false },
  [-4]: { name: 'Wanning', session: true },
  [-5]: { name: 'DealWithForm', session: true },
  [-6]: { name: 'EntryCloudUnBind', session: false },
  [-7]: { name: 'Activation', session: false },
};

/** Words K3 uses when a session is gone (MsgCode 1 is the reliable signal; these back it up). */
const SESSION_LOST = /会话信息已丢失|会话已失效|会话已过期|上下文丢失|请重新登录|not\s+logged\s+in|session\s+(?:is\s+)?(?:lost|expired|invalid)/i;

/**
 * `data` (default): `{"data": {...}}` / `{"formid", "data"}` and named login fields, as in the
 * API documentation. `parameters`: the SDK envelope `{"format":1,"parameters":"[...]",...}` with
 * positional arguments, for sites (or proxies) that only accept that form.
 */
export type KingdeeRequestFormat = 'data' | 'parameters';

export type KingdeeCredentials =
  | { kind: 'password'; username: string; password: Secret }
  | { kind: 'appSecret'; username: string; appId: string; appSecret: Secret };

export interface KingdeeClientOptions {
  /** Connector instance name, for errors. */
  connector: string;
  /** 数据中心 ID (acctID) of the account set. */
  acctId: string;
  credentials: KingdeeCredentials;
  /** Language id; 2052 = simplified Chinese (default). */
  lcid?: number;
  requestFormat?: KingdeeRequestFormat;
  clock?: Clock;
}

/** ExecuteBillQuery arguments, named as K3 names them. */
export interface BillQuery {
  FormId: string;
  /** Comma-separated field keys; rows come back in this order. */
  FieldKeys: string;
  FilterString?: string;
  OrderString?: string;
  /** Total row cap (0 = none). */
  TopRowCount?: number;
  StartRow?: number;
  /** Page size (0 = server default); at most 2000. */
  Limit?: number;
  SubSystemId?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the configured attempts (1 = no retry). */
  maxAttempts?: number;
}

export interface SaveResult {
  /** Internal id (FID / FCUSTID ...). */
  id: string;
  /** Business number (FNumber / FBillNo). */
  number: string;
  /** The whole `Result` object (NeedReturnData and all). */
  result: Record<string, unknown>;
}

interface ResponseStatus {
  IsSuccess?: unknown;
  Errors?: unknown;
  ErrorCode?: unknown;
  MsgCode?: unknown;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The ResponseStatus of an operation result or of a failed ExecuteBillQuery (`[[{Result}]]`). */
export function responseStatusOf(data: unknown): ResponseStatus | undefined {
  let result: unknown;
  if (Array.isArray(data) && Array.isArray(data[0]) && isObject(data[0][0])) result = data[0][0].Result;
  else if (isObject(data)) result = data.Result;
  return isObject(result) && isObject(result.ResponseStatus) ? (result.ResponseStatus as ResponseStatus) : undefined;
}

/** `IsSuccess` arrives as `true`/`false` or as the strings "true"/"false". */
function succeeded(rs: ResponseStatus): boolean {
  return rs.IsSuccess === true || String(rs.IsSuccess).toLowerCase() === 'true';
}

function errorsOf(rs: ResponseStatus): { FieldName?: unknown; Message?: unknown; DIndex?: unknown }[] {
  return Array.isArray(rs.Errors) ? rs.Errors.filter(isObject) : [];
}

/** Does this response say the session is gone? (`isAuthFailure` of the auth strategy.) */
export function isSessionLost(response: Pick<HttpResponseInfo, 'status' | 'data'>): boolean {
  if (response.status === 401) return true;
  const rs = responseStatusOf(response.data);
  if (!rs || succeeded(rs)) return false;
  if (Number(rs.MsgCode) === 1) return true;
  return errorsOf(rs).some((e) => typeof e.Message === 'string' && SESSION_LOST.test(e.Message));
}

/** Kingdee's gateway errors: HTTP 519 with `{errcode, description, description_cn}`. */
function gatewayError(data: unknown): { errcode: number; message: string } | undefined {
  if (!isObject(data) || data.errcode === undefined) return undefined;
  const errcode = Number(data.errcode);
  const message = String(data.description_cn ?? data.description ?? `errcode ${data.errcode}`);
  return Number.isFinite(errcode) ? { errcode, message } : undefined;
}

/** The kit's `classify` hook: failures hidden in HTTP 200 bodies become typed errors. */
export function classifyKingdeeResponse(info: HttpResponseInfo): ResponseClassification | undefined {
  if (info.status < 200 || info.status >= 300) {
    const gw = gatewayError(info.data);
    if (gw && gw.errcode >= 4000 && gw.errcode < 5000) return { code: 'CONNECTOR_AUTH_FAILED', retryable: false };
    if (gw && gw.errcode === 5001) return { code: 'CONNECTOR_REQUEST_REJECTED', retryable: false };
    return undefined; // the status decides
  }
  const rs = responseStatusOf(info.data);
  if (!rs || succeeded(rs)) return undefined;
  if (isSessionLost(info)) return { code: 'CONNECTOR_AUTH_FAILED' };
  // 13 网控冲突: another user holds the record (network control) — nothing was written and the
  // lock is short-lived: try again later, never dead-letter. 14 调用限制: rate limited.
  const msgCode = Number(rs.MsgCode);
  if (msgCode === 13) return { code: 'CONNECTOR_UNAVAILABLE', retryable: true };
  if (msgCode === 14) return { code: 'CONNECTOR_RATE_LIMITED' };
  return { code: 'CONNECTOR_REQUEST_REJECTED' };
}

/** The kit's `vendorErrors` hook: Kingdee `Errors[]` (with the MsgCode), gateway errcodes, else the default. */
export function kingdeeVendorErrors(info: HttpResponseInfo): VendorError[] | undefined {
  const rs = responseStatusOf(info.data);
  if (rs) {
    const code = rs.MsgCode !== undefined && rs.MsgCode !== null && rs.MsgCode !== '' ? `MsgCode ${String(rs.MsgCode)}` : undefined;
    const list = errorsOf(rs).map((e): VendorError => {
      const field = typeof e.FieldName === 'string' && e.FieldName ? e.FieldName : undefined;
      const message = typeof e.Message === 'string' && e.Message ? e.Message : 'no message';
      return { ...(code ? { code } : {}), message, ...(field ? { field } : {}) };
    });
    if (list.length) return list;
    if (!succeeded(rs)) return [{ ...(code ? { code } : {}), message: `IsSuccess is false without Errors (ErrorCode ${String(rs.ErrorCode ?? 'none')})` }];
    return undefined;
  }
  const gw = gatewayError(info.data);
  if (gw) return [{ code: `errcode ${gw.errcode}`, message: gw.message }];
  return defaultVendorErrors(info);
}

/** `name=value` pairs of Set-Cookie headers (attributes dropped). */
function cookiesOf(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of header === undefined ? [] : Array.isArray(header) ? header : [header]) {
    const pair = line.split(';', 1)[0];
    const eq = pair.indexOf('=');
    if (eq > 0) out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return out;
}

export class KingdeeClient {
  readonly http: HttpClient;
  private readonly connector: string;
  private readonly lcid: number;
  private readonly format: KingdeeRequestFormat;
  private readonly clock: Clock;
  private rid = 0;
  private loggedIn = false;

  constructor(
    http: (options: ConnectorHttpOptions) => HttpClient,
    private readonly options: KingdeeClientOptions,
  ) {
    this.connector = options.connector;
    this.lcid = options.lcid ?? 2052;
    this.format = options.requestFormat ?? 'data';
    this.clock = options.clock ?? realClock;
    const auth: AuthStrategy = {
      getToken: () => this.login(),
      invalidate: () => {
        this.loggedIn = false;
      },
      isAuthFailure: isSessionLost,
    };
    this.http = http({ auth, classify: classifyKingdeeResponse, vendorErrors: kingdeeVendorErrors });
  }

  /**
   * Logs in and returns the session headers (cookies `kdservice-sessionid` and whatever else the
   * site set, plus the `kdservice-sessionid` header). The HTTP layer calls this; the body carries
   * the password or app secret, so it is never logged.
   */
  async login(signal?: AbortSignal): Promise<{ headers: Record<string, string> }> {
    const c = this.options.credentials;
    const path = c.kind === 'password' ? KINGDEE_SERVICES.validateUser : KINGDEE_SERVICES.loginByAppSecret;
    const secret = c.kind === 'password' ? c.password.reveal() : c.appSecret.reveal();
    let body: unknown;
    if (this.format === 'parameters') {
      body = this.envelope(c.kind === 'password' ? [this.options.acctId, c.username, secret, this.lcid] : [this.options.acctId, c.username, c.appId, secret, this.lcid]);
    } else {
      body =
        c.kind === 'password'
          ? { acctID: this.options.acctId, username: c.username, password: secret, lcid: this.lcid }
          : { acctID: this.options.acctId, username: c.username, appid: c.appId, appsecret: secret, lcid: this.lcid };
    }
    // A login changes nothing but the session table: safe to resend after a 5xx.
    const res = await this.http.post(path, body, { auth: false, redactBody: true, idempotent: true, signal });
    const d = res.data;
    const fail = (code: ConnectorErrorCode, message: string, vendorErrors?: VendorError[]) =>
      new ConnectorError({ code, connector: this.connector, method: 'POST', path, status: res.status, vendorErrors, retryable: false, message });
    if (!isObject(d) || d.LoginResultType === undefined) {
      throw fail('CONNECTOR_BAD_RESPONSE', `Kingdee ${c.kind === 'password' ? 'ValidateUser' : 'LoginByAppSecret'} answered without LoginResultType`);
    }
    const type = Number(d.LoginResultType);
    const known = LOGIN_RESULT_TYPES[type];
    const typeText = `LoginResultType ${type}${known ? ` (${known.name})` : ''}`;
    const text = typeof d.Message === 'string' && d.Message ? d.Message : 'no message';
    const refused = (why: string) =>
      fail('CONNECTOR_AUTH_FAILED', `Kingdee refused the login of ${c.username} to account set ${this.options.acctId} (${why}): ${text}`, [
        { code: `LoginResultType ${type}`, message: text },
      ]);
    if (!known?.session) throw refused(typeText);
    const cookies = cookiesOf(res.headers['set-cookie']);
    const sid = cookies.get(SESSION_COOKIE) ?? (typeof d.KDSVCSessionId === 'string' && d.KDSVCSessionId ? d.KDSVCSessionId : undefined);
    if (!sid) {
      // Success without a session is a broken answer; a warning type without one is no login.
      if (type === 1) throw fail('CONNECTOR_BAD_RESPONSE', 'Kingdee accepted the login but returned no session (no kdservice-sessionid cookie, no KDSVCSessionId)');
      throw refused(`${typeText} without a session`);
    }
    if (type !== 1) {
      // Logged in, with something only an interactive user could act on: say which, once per login.
      logger.warn('kingdee login accepted with a warning', {
        connector: this.connector,
        acctId: this.options.acctId,
        username: c.username,
        loginResultType: type,
        loginResult: known.name,
        message: text,
      });
    }
    cookies.set(SESSION_COOKIE, sid);
    this.loggedIn = true;
    return {
      headers: {
        Cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        [SESSION_COOKIE]: sid,
      },
    };
  }

  /** One ExecuteBillQuery page: rows as arrays in FieldKeys order, checked for shape. */
  async executeBillQuery(query: BillQuery, opts: CallOptions = {}): Promise<unknown[][]> {
    const data = {
      FormId: query.FormId,
      FieldKeys: query.FieldKeys,
      FilterString: query.FilterString ?? '',
      OrderString: query.OrderString ?? '',
      TopRowCount: query.TopRowCount ?? 0,
      StartRow: query.StartRow ?? 0,
      Limit: query.Limit ?? 0,
      SubSystemId: query.SubSystemId ?? '',
    };
    if (data.Limit > KINGDEE_MAX_LIMIT) {
      throw new ConnectorError({
        code: 'CONNECTOR_MISCONFIGURED',
        connector: this.connector,
        message: `${this.connector}: ExecuteBillQuery Limit ${data.Limit} exceeds Kingdee's maximum of ${KINGDEE_MAX_LIMIT}`,
      });
    }
    const body = this.format === 'parameters' ? this.envelope([JSON.stringify(data)]) : { data };
    const path = KINGDEE_SERVICES.executeBillQuery;
    const res = await this.http.post(path, body, { idempotent: true, signal: opts.signal, maxAttempts: opts.maxAttempts });
    const rows = res.data;
    const bad = (why: string) =>
      new ConnectorError({
        code: 'CONNECTOR_BAD_RESPONSE',
        connector: this.connector,
        method: 'POST',
        path,
        status: res.status,
        message: `${this.connector}: ExecuteBillQuery of ${query.FormId} ${why}`,
      });
    if (!Array.isArray(rows)) throw bad(`answered ${rows === null ? 'null' : typeof rows} instead of an array of rows`);
    const width = query.FieldKeys.split(',').length;
    rows.forEach((row, i) => {
      if (!Array.isArray(row)) throw bad(`row ${i} is ${row === null ? 'null' : typeof row}, not an array of values`);
      if (row.length !== width) throw bad(`row ${i} has ${row.length} values for ${width} FieldKeys`);
    });
    return rows as unknown[][];
  }

  /**
   * Save (create or update) one record of `formId`. `data` is Save's argument object
   * (`{Model: {...}, NeedUpDateFields: [...], IsAutoSubmitAndAudit: false, ...}`). Not resent
   * after a failure unless `idempotent` (Save creates a new record when the Model has no id).
   */
  async save(formId: string, data: Record<string, unknown>, opts: CallOptions & { idempotent?: boolean } = {}): Promise<SaveResult> {
    const body = this.format === 'parameters' ? this.envelope([formId, JSON.stringify(data)]) : { formid: formId, data };
    const path = KINGDEE_SERVICES.save;
    const res = await this.http.post(path, body, { idempotent: opts.idempotent ?? false, signal: opts.signal, maxAttempts: opts.maxAttempts });
    const result = isObject(res.data) && isObject(res.data.Result) ? res.data.Result : undefined;
    const rs = responseStatusOf(res.data);
    if (!result || !rs || !succeeded(rs)) {
      throw new ConnectorError({
        code: 'CONNECTOR_BAD_RESPONSE',
        connector: this.connector,
        method: 'POST',
        path,
        status: res.status,
        message: `${this.connector}: Save of ${formId} answered without a successful Result.ResponseStatus`,
      });
    }
    return { id: String(result.Id ?? ''), number: String(result.Number ?? ''), result };
  }

  /** Ends the session, if there is one; never throws (the session times out anyway). */
  async logout(): Promise<void> {
    if (!this.loggedIn) return;
    this.loggedIn = false;
    try {
      await this.http.post(KINGDEE_SERVICES.logout, {}, { maxAttempts: 1, idempotent: true });
    } catch {
      // best effort
    }
  }

  /** The Kingdee SDK request envelope: positional arguments as a JSON string. */
  private envelope(parameters: unknown[]): Record<string, unknown> {
    return {
      format: 1,
      useragent: 'ApiClient',
      rid: String(++this.rid),
      parameters: JSON.stringify(parameters),
      timestamp: new Date(this.clock.now()).toISOString(),
      v: '1.0',
    };
  }
}
