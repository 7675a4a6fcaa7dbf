/**
 * A Salesforce REST API look-alike for the demo and end-to-end tests: the OAuth token endpoint,
 * the SOQL queries this connector sends (not a general SOQL engine), query-more paging through
 * nextRecordsUrl, single-record create/read/update, and hooks to inject the failures a real org
 * produces (5xx, rate limits, expired sessions, lost query locators, slow answers, broken JSON).
 *
 * Response and error bodies have Salesforce's shapes: `{totalSize, done, nextRecordsUrl, records}`,
 * `[{"message": ..., "errorCode": ...}]`, OAuth `{error, error_description}`.
 */
import { createHmac, randomBytes } from 'crypto';
import { createServer, IncomingMessage, ServerResponse } from 'http';
import { readSandboxBody } from '../../../src/connectors/sandbox-body';
import type { AddressInfo } from 'net';
import { EffectCounter } from '../../../src/connectors/sandbox-effects';
import {
  buildSalesforceSandboxData,
  CLOSED_CASE_STATUSES,
  SalesforceSandboxData,
  SANDBOX_SCHEMA,
  SandboxStories,
  sfDateTime,
  SfRow,
  SfValue,
  SObjectName,
  SOBJECT_NAMES,
} from './data';

export { buildSalesforceSandboxData, SANDBOX_SCHEMA, sfDateTime } from './data';
export type { SalesforceSandboxData, SandboxStories, SfRow, SObjectName } from './data';

export interface SandboxCredentials {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
}

export const DEFAULT_SANDBOX_CREDENTIALS: SandboxCredentials = {
  clientId: 'junction-sandbox-client',
  clientSecret: 'junction-sandbox-secret',
  username: 'integration@junction.demo',
  password: 'junction-sandbox-password',
};

export interface SalesforceSandboxOptions {
  /** 0 (default) = a free port. */
  port?: number;
  host?: string;
  /** Records to serve; default: buildSalesforceSandboxData({ scale }). */
  data?: SalesforceSandboxData;
  /** Synthetic accounts to add to the default data (benchmarks). */
  scale?: number;
  credentials?: Partial<SandboxCredentials>;
  /**
   * Time for SystemModstamp of changed records. Default: the wall clock, but never earlier than one
   * second after the newest record, so a change always sorts after everything already read.
   */
  now?: () => number;
}

/** Which requests an injected failure applies to. */
export type RequestMatch = 'api' | 'token' | 'query' | 'any' | RegExp;

export interface SandboxRequestLog {
  method: string;
  path: string;
  /** The SOQL of a query request. */
  soql?: string;
  /** Sforce-Query-Options batchSize as sent. */
  batchSize?: number;
  status: number;
}

export interface SandboxControl {
  readonly credentials: SandboxCredentials;
  /** Every request in arrival order (no secrets). */
  readonly requests: SandboxRequestLog[];
  readonly stories?: SandboxStories;
  /** The next `times` matching requests answer `status` (500: UNKNOWN_EXCEPTION body, 502/503: HTML). */
  failNext(times: number, status?: 500 | 502 | 503, opts?: { retryAfterSeconds?: number; match?: RequestMatch }): void;
  /**
   * The next `times` matching requests are refused for rate: `http429` (429 + Retry-After),
   * `daily` (403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded."), `concurrent`
   * (403 REQUEST_LIMIT_EXCEEDED "ConcurrentPerOrgLongTxn Limit exceeded.").
   */
  rateLimitNext(times: number, kind?: 'http429' | 'daily' | 'concurrent', opts?: { retryAfterSeconds?: number; match?: RequestMatch }): void;
  /** The next `times` matching requests wait `ms` before being answered. */
  delayNext(times: number, ms: number, match?: RequestMatch): void;
  /** The next `times` matching requests answer 200 with a truncated JSON body. */
  malformedNext(times: number, match?: RequestMatch): void;
  /** Any other answer for the next `times` matching requests. */
  respondNext(times: number, status: number, body: unknown, opts?: { headers?: Record<string, string>; match?: RequestMatch }): void;
  /** Every issued access token stops working (401 INVALID_SESSION_ID); logging in again works. */
  expireSessions(): void;
  /** The next `times` logins are refused (400 invalid_grant). */
  refuseLogins(times: number): void;
  /** Every open query locator is forgotten (400 INVALID_QUERY_LOCATOR on its nextRecordsUrl). */
  expireQueryLocators(): void;
  /** instance_url in token responses (default: this server's URL). */
  setInstanceUrl(url: string | null): void;
  /** Serve at most `n` records per batch whatever the client asks (Salesforce may send fewer). */
  setMaxBatchSize(n: number | null): void;
  /** Changes fields like an API user would: LastModifiedDate and SystemModstamp move to now. */
  update(sobject: SObjectName, id: string, fields: Record<string, SfValue>): SfRow;
  insert(sobject: SObjectName, fields: Record<string, SfValue>): SfRow;
  /** Copies of the current records, in (SystemModstamp, Id) order. */
  records(sobject: SObjectName): SfRow[];
  counts(): Record<SObjectName, number>;
  /** Drops pending injections and the request log. */
  reset(): void;
  /**
   * Writes (create/update through the API) counted by the Junction_Key__c they carried; also
   * served as `GET /__sandbox/effects`.
   */
  readonly effects: EffectCounter;
  /** The next `times` matching requests are carried out, then the connection is cut before the answer. */
  loseResponseNext(times: number, match?: RequestMatch): void;
}

export interface SalesforceSandbox {
  url: string;
  close(): Promise<void>;
  control: SandboxControl;
}

const MIN_VERSION = 31;
const MAX_VERSION = 62;
const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_BODY = 1024 * 1024;
const DEFAULT_BATCH = 2000;
const MAX_OPEN_LOCATORS = 10;
const ORG_ID = '00D5g00000JunctEAA';
const USER_ID = '0055g00000IntegAAA';

interface Row {
  ms: number;
  fields: SfRow;
}

interface Locator {
  records: Record<string, unknown>[];
  batch: number;
  version: string;
}

interface Injection {
  times: number;
  match: RequestMatch;
  delayMs?: number;
  respond?: { status: number; body: string; headers: Record<string, string> };
  /** Do the work, then destroy the socket instead of answering. */
  loseResponse?: boolean;
}

class SoqlError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

function sfError(errorCode: string, message: string, fields?: string[]) {
  return [{ message, errorCode, ...(fields ? { fields } : {}) }];
}

function toMs(sf: SfValue): number {
  const ms = typeof sf === 'string' ? parseDateTime(sf) : undefined;
  if (ms === undefined) throw new Error(`not a Salesforce dateTime: ${String(sf)}`);
  return Math.floor(ms / 1000) * 1000;
}

/** SOQL literal or Salesforce dateTime → epoch ms. */
function parseDateTime(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  let ms = Date.UTC(y, mo - 1, d, h, mi, s, m[7] ? Number(m[7].padEnd(3, '0')) : 0);
  if (m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1 : 1;
    const digits = m[8].slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms;
}

function compareRows(a: Row, b: Row): number {
  return a.ms - b.ms || (a.fields.Id < b.fields.Id ? -1 : a.fields.Id > b.fields.Id ? 1 : 0);
}

function versionLabel(v: number): string {
  const i = v - 31; // 31.0 = Summer '14, then Winter, Spring, Summer each year
  return `${['Summer', 'Winter', 'Spring'][i % 3]} '${14 + Math.floor((i + 2) / 3)}`;
}

export async function startSalesforceSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const built = options.data ?? buildSalesforceSandboxData({ scale: options.scale });
  const stories = 'stories' in built ? (built as { stories?: SandboxStories }).stories : undefined;
  const credentials: SandboxCredentials = { ...DEFAULT_SANDBOX_CREDENTIALS, ...options.credentials };
  const signingKey = randomBytes(32);

  const tables = new Map<SObjectName, Map<string, Row>>();
  let newest = 0;
  for (const name of SOBJECT_NAMES) {
    const table = new Map<string, Row>();
    for (const rec of built[name] ?? []) {
      const row: Row = { ms: toMs(rec.SystemModstamp), fields: { ...rec } };
      newest = Math.max(newest, row.ms);
      table.set(rec.Id, row);
    }
    tables.set(name, table);
  }
  // Default clock: wall time, but monotonic and after every record already served.
  let lastStamp = newest + 1000;
  const stamp = (): number => {
    const t = Math.floor((options.now ?? Date.now)() / 1000) * 1000;
    lastStamp = options.now ? t : Math.max(t, lastStamp);
    return lastStamp;
  };
  /** The server clock, sent as the Date header (never behind a stamp it handed out). */
  const serverNow = (): number => (options.now ? options.now() : Math.max(Date.now(), lastStamp));

  const tokens = new Set<string>();
  const locators = new Map<string, Locator>();
  let injections: Injection[] = [];
  const lostResponses = new WeakSet<ServerResponse>();
  let refusedLogins = 0;
  let instanceUrl: string | null = null;
  let maxBatch: number | null = null;
  let apiUsage = 0;
  let idCounter = 0;
  const requests: SandboxRequestLog[] = [];
  const effects = new EffectCounter();
  const timers = new Set<NodeJS.Timeout>();
  let url = '';

  const matches = (m: RequestMatch, path: string): boolean => {
    if (m instanceof RegExp) return m.test(path);
    if (m === 'any') return true;
    if (m === 'token') return path === '/services/oauth2/token';
    if (m === 'query') return /^\/services\/data\/v\d+\.\d+\/query/.test(path);
    return path.startsWith('/services/data/');
  };
  const inject = (i: Injection) => {
    if (!Number.isInteger(i.times) || i.times < 1) throw new Error('times must be a positive integer');
    injections.push(i);
  };

  const nextId = (sobject: SObjectName) => `${SANDBOX_SCHEMA[sobject].keyPrefix}5g000NW${(++idCounter).toString(36).toUpperCase().padStart(8, '0')}`;

  const fieldName = (sobject: SObjectName, name: string): string | undefined =>
    SANDBOX_SCHEMA[sobject].fields.find((f) => f.toLowerCase() === name.toLowerCase());

  /** Checks a create/update body; throws [status, body]. */
  const checkBody = (sobject: SObjectName, body: unknown, creating: boolean): Record<string, SfValue> => {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw [400, sfError('JSON_PARSER_ERROR', 'The request body must be a JSON object of field values')];
    const out: Record<string, SfValue> = {};
    const readOnly: string[] = [];
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (k === 'attributes') continue;
      const f = fieldName(sobject, k);
      if (!f) throw [400, sfError('INVALID_FIELD', `No such column '${k}' on sobject of type ${sobject}`)];
      if (SANDBOX_SCHEMA[sobject].readOnly.includes(f)) readOnly.push(f);
      else if (v !== null && typeof v === 'object') throw [400, sfError('JSON_PARSER_ERROR', `Cannot deserialize instance of ${f} from an object or array`)];
      else out[f] = v as SfValue;
    }
    if (readOnly.length) {
      throw [
        400,
        sfError(
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          readOnly,
        ),
      ];
    }
    if (creating) {
      const missing = SANDBOX_SCHEMA[sobject].required.filter((f) => out[f] === undefined || out[f] === null || out[f] === '');
      if (missing.length) throw [400, sfError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing)];
    }
    return out;
  };

  /** Derived fields Salesforce keeps: Contact.Name, Case.IsClosed / ClosedDate / CaseNumber. */
  const derive = (sobject: SObjectName, rec: SfRow, before: SfRow | undefined, at: string) => {
    if (sobject === 'Contact') rec.Name = `${rec.LastName ?? ''}${rec.FirstName ?? ''}`;
    if (sobject === 'Case') {
      if (rec.Status === undefined || rec.Status === null) rec.Status = 'New';
      const closed = CLOSED_CASE_STATUSES.includes(String(rec.Status));
      if (closed && !before?.IsClosed) rec.ClosedDate = at;
      if (!closed) rec.ClosedDate = null;
      rec.IsClosed = closed;
    }
  };

  const write = (sobject: SObjectName, id: string | null, fields: Record<string, SfValue>): SfRow => {
    const table = tables.get(sobject)!;
    const ms = stamp();
    const at = sfDateTime(ms);
    if (id === null) {
      const rec: SfRow = { Id: nextId(sobject) };
      for (const f of SANDBOX_SCHEMA[sobject].fields) if (f !== 'Id') rec[f] = null;
      Object.assign(rec, fields, { IsDeleted: false, CreatedDate: at, LastModifiedDate: at, SystemModstamp: at });
      if (sobject === 'Case') {
        const max = Math.max(1000, ...[...table.values()].map((r) => Number(r.fields.CaseNumber) || 0));
        rec.CaseNumber = String(max + 1).padStart(8, '0');
      }
      derive(sobject, rec, undefined, at);
      table.set(rec.Id, { ms, fields: rec });
      return { ...rec };
    }
    const row = table.get(id);
    if (!row) throw [404, sfError('NOT_FOUND', 'The requested resource does not exist')];
    const before = { ...row.fields };
    Object.assign(row.fields, fields, { LastModifiedDate: at, SystemModstamp: at });
    derive(sobject, row.fields, before, at);
    row.ms = ms;
    return { ...row.fields };
  };

  const sorted = (sobject: SObjectName): Row[] => [...tables.get(sobject)!.values()].sort(compareRows);

  // SOQL ------------------------------------------------------------------------------------

  const DT = '(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,3})?(?:Z|[+-]\\d{2}:?\\d{2}))';
  const WHERE_KEY = /^\(?\s*Junction_Key__c\s*=\s*'((?:[^'\\]|\\.)*)'\s*\)?$/i;
  const WHERE_AFTER = new RegExp(`^\\(?\\s*SystemModstamp\\s*>\\s*${DT}\\s*\\)?$`, 'i');
  const WHERE_KEYSET = new RegExp(`^\\(?\\s*SystemModstamp\\s*>\\s*${DT}\\s+OR\\s+\\(\\s*SystemModstamp\\s*=\\s*${DT}\\s+AND\\s+Id\\s*>\\s*'([A-Za-z0-9]{15,18})'\\s*\\)\\s*\\)?$`, 'i');
  const QUERY = /^\s*SELECT\s+(.+?)\s+FROM\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?(?:\s+LIMIT\s+(\d+))?\s*$/is;

  const malformed = (soql: string, token: string, why: string) => {
    const col = Math.max(1, soql.indexOf(token) + 1);
    return new SoqlError('MALFORMED_QUERY', `\n${soql}\n${' '.repeat(col - 1)}^\nERROR at Row:1:Column:${col}\n${why}`);
  };

  const runQuery = (soql: string, version: string, batchHeader: number | undefined) => {
    const m = QUERY.exec(soql);
    if (!m) {
      const token = /\bFROM\b/i.test(soql) ? soql.trim().split(/\s+/).pop()! : soql.trim().split(/\s+/)[2] ?? soql;
      throw malformed(soql, token, `unexpected token: '${token}'`);
    }
    const [, fieldList, objectName, where, orderBy, limit] = m;
    const sobject = SOBJECT_NAMES.find((s) => s.toLowerCase() === objectName.toLowerCase());
    if (!sobject) {
      throw new SoqlError(
        'INVALID_TYPE',
        `\n${soql}\n${' '.repeat(soql.indexOf(objectName))}^\nERROR at Row:1:Column:${soql.indexOf(objectName) + 1}\nsObject type '${objectName}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    const fields = fieldList.split(',').map((f) => f.trim());
    const canonical = fields.map((f) => {
      const c = fieldName(sobject, f);
      if (!c) {
        const col = soql.indexOf(f) + 1;
        throw new SoqlError(
          'INVALID_FIELD',
          `\n${soql}\n${' '.repeat(col - 1)}^\nERROR at Row:1:Column:${col}\nNo such column '${f}' on entity '${sobject}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      }
      return c;
    });

    let filter: (r: Row) => boolean = () => true;
    if (where !== undefined) {
      const after = WHERE_AFTER.exec(where.trim());
      const keyset = WHERE_KEYSET.exec(where.trim());
      const byKey = WHERE_KEY.exec(where.trim());
      if (byKey) {
        if (!fieldName(sobject, 'Junction_Key__c')) throw malformed(soql, 'Junction_Key__c', `No such column 'Junction_Key__c' on entity '${sobject}'`);
        const key = byKey[1].replace(/\\(.)/g, '$1');
        filter = (r) => r.fields.Junction_Key__c === key;
      } else if (keyset) {
        const gt = parseDateTime(keyset[1]);
        const eq = parseDateTime(keyset[2]);
        const id = keyset[3];
        if (gt === undefined || eq === undefined) throw badDate(keyset[1]);
        const g = Math.floor(gt / 1000) * 1000;
        const e = Math.floor(eq / 1000) * 1000;
        filter = (r) => r.ms > g || (r.ms === e && r.fields.Id > id);
      } else if (after) {
        const gt = parseDateTime(after[1]);
        if (gt === undefined) throw badDate(after[1]);
        const g = Math.floor(gt / 1000) * 1000;
        filter = (r) => r.ms > g;
      } else {
        throw malformed(soql, where.trim().split(/\s+/)[0], `unexpected token: '${where.trim().split(/\s+/)[0]}' (this sandbox understands only the SystemModstamp / Id filters the Junction connector sends)`);
      }
    }
    if (orderBy !== undefined && !/^SystemModstamp(\s+ASC)?\s*,\s*Id(\s+ASC)?$|^SystemModstamp(\s+ASC)?$/i.test(orderBy.trim())) {
      throw malformed(soql, orderBy.trim(), `unexpected token: '${orderBy.trim()}' (this sandbox sorts only by SystemModstamp, Id)`);
    }
    let rows = sorted(sobject).filter(filter);
    if (limit !== undefined) rows = rows.slice(0, Number(limit));
    const records = rows.map((r) => {
      const out: Record<string, unknown> = { attributes: { type: sobject, url: `/services/data/v${version}/sobjects/${sobject}/${r.fields.Id}` } };
      for (const f of canonical) out[f] = r.fields[f] ?? null;
      return out;
    });
    let batch = batchHeader === undefined ? DEFAULT_BATCH : Math.min(2000, Math.max(200, batchHeader));
    if (maxBatch !== null) batch = Math.min(batch, maxBatch);
    return page(records, batch, version, 0, null);
  };

  const badDate = (text: string) =>
    new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes (got ${text})`);

  const page = (records: Record<string, unknown>[], batch: number, version: string, offset: number, locatorId: string | null) => {
    const slice = records.slice(offset, offset + batch);
    const done = offset + batch >= records.length;
    const body: Record<string, unknown> = { totalSize: records.length, done, records: slice };
    if (!done) {
      const id = locatorId ?? `01g5g0000${randomBytes(6).toString('hex').toUpperCase().slice(0, 9)}`;
      if (!locatorId) {
        // Like Salesforce: at most 10 open query cursors; opening another releases the oldest.
        if (locators.size >= MAX_OPEN_LOCATORS) locators.delete(locators.keys().next().value as string);
        locators.set(id, { records, batch, version });
      }
      body.nextRecordsUrl = `/services/data/v${version}/query/${id}-${offset + batch}`;
    }
    return body;
  };

  // HTTP ------------------------------------------------------------------------------------

  const send = (res: ServerResponse, log: SandboxRequestLog, status: number, body: unknown, headers: Record<string, string> = {}) => {
    log.status = status;
    if (res.writableEnded || res.destroyed) return;
    if (lostResponses.has(res)) {
      // The work is done; the answer never arrives (a dropped connection after a successful write).
      log.status = 0;
      res.socket?.destroy();
      return;
    }
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const h: Record<string, string> = { ...headers };
    if (body !== undefined && !h['Content-Type']) h['Content-Type'] = JSON_TYPE;
    if (log.path.startsWith('/services/data/v')) h['Sforce-Limit-Info'] = `api-usage=${apiUsage}/15000`;
    h.Date = new Date(serverNow()).toUTCString();
    res.writeHead(status, h);
    res.end(text);
  };

  const readBody = (req: IncomingMessage) => readSandboxBody(req, { maxBytes: MAX_BODY });

  const handleToken = async (req: IncomingMessage, res: ServerResponse, log: SandboxRequestLog) => {
    if (req.method !== 'POST') return send(res, log, 400, { error: 'invalid_request', error_description: 'must use HTTP POST' });
    const form = new URLSearchParams(await readBody(req));
    const grant = form.get('grant_type');
    if (!grant) return send(res, log, 400, { error: 'invalid_request', error_description: 'grant type is missing' });
    if (grant !== 'client_credentials' && grant !== 'password') return send(res, log, 400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    if (form.get('client_id') !== credentials.clientId) return send(res, log, 400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
    if (form.get('client_secret') !== credentials.clientSecret) return send(res, log, 400, { error: 'invalid_client', error_description: 'invalid client credentials' });
    if (grant === 'password' && (form.get('username') !== credentials.username || form.get('password') !== credentials.password)) {
      return send(res, log, 400, { error: 'invalid_grant', error_description: 'authentication failure' });
    }
    if (refusedLogins > 0) {
      refusedLogins--;
      return send(res, log, 400, { error: 'invalid_grant', error_description: 'authentication failure' });
    }
    const token = `${ORG_ID.slice(0, 15)}!AR${randomBytes(24).toString('base64url')}`;
    tokens.add(token);
    const issuedAt = String(Date.now());
    const idUrl = `${url}/id/${ORG_ID}/${USER_ID}`;
    const signature = createHmac('sha256', signingKey).update(idUrl + issuedAt).digest('base64');
    return send(res, log, 200, { access_token: token, instance_url: instanceUrl ?? url, id: idUrl, token_type: 'Bearer', issued_at: issuedAt, signature, scope: 'api' });
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, log: SandboxRequestLog, u: URL) => {
    const path = u.pathname;
    const method = req.method ?? 'GET';
    if (path === '/services/data' || path === '/services/data/') {
      // The version list is public, as on Salesforce.
      const list = [];
      for (let v = MIN_VERSION; v <= MAX_VERSION; v++) list.push({ label: versionLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
      return send(res, log, 200, list);
    }
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token || !tokens.has(token)) return send(res, log, 401, sfError('INVALID_SESSION_ID', 'Session expired or invalid'));
    apiUsage++;

    const vm = /^\/services\/data\/v(\d+)\.(\d)(\/.*)?$/.exec(path);
    const vnum = vm ? Number(vm[1]) : NaN;
    if (!vm || vm[2] !== '0' || vnum < MIN_VERSION || vnum > MAX_VERSION) return send(res, log, 404, sfError('NOT_FOUND', 'The requested resource does not exist'));
    const version = `${vnum}.0`;
    const rest = vm[3] ?? '/';
    const base = `/services/data/v${version}`;

    if (rest === '/' || rest === '') {
      if (method !== 'GET') return notAllowed(res, log, method, 'GET,HEAD');
      return send(res, log, 200, {
        sobjects: `${base}/sobjects`,
        query: `${base}/query`,
        queryAll: `${base}/queryAll`,
        limits: `${base}/limits`,
        search: `${base}/search`,
        composite: `${base}/composite`,
      });
    }

    if (rest === '/query' || rest === '/query/') {
      if (method !== 'GET') return notAllowed(res, log, method, 'GET,HEAD');
      const q = u.searchParams.get('q');
      log.soql = q ?? undefined;
      const opt = /batchSize\s*=\s*(\d+)/i.exec(String(req.headers['sforce-query-options'] ?? ''));
      log.batchSize = opt ? Number(opt[1]) : undefined;
      if (!q) return send(res, log, 400, sfError('MALFORMED_QUERY', 'A query string has to be specified'));
      try {
        return send(res, log, 200, runQuery(q, version, log.batchSize));
      } catch (err) {
        if (err instanceof SoqlError) return send(res, log, 400, sfError(err.errorCode, err.message));
        throw err;
      }
    }

    const more = /^\/query\/([A-Za-z0-9]+)-(\d+)$/.exec(rest);
    if (more) {
      if (method !== 'GET') return notAllowed(res, log, method, 'GET,HEAD');
      const loc = locators.get(more[1]);
      const offset = Number(more[2]);
      if (!loc || offset % loc.batch !== 0 || offset >= loc.records.length) return send(res, log, 400, sfError('INVALID_QUERY_LOCATOR', 'invalid query locator'));
      return send(res, log, 200, page(loc.records, loc.batch, loc.version, offset, more[1]));
    }

    const so = /^\/sobjects\/([A-Za-z0-9_]+)\/?(?:([A-Za-z0-9]{15,18})\/?)?$/.exec(rest);
    if (so) {
      const sobject = SOBJECT_NAMES.find((s) => s === so[1]);
      if (!sobject) return send(res, log, 404, sfError('NOT_FOUND', 'The requested resource does not exist'));
      const id = so[2];
      try {
        if (!id) {
          if (method !== 'POST') return notAllowed(res, log, method, 'GET,HEAD,POST');
          const fields = checkBody(sobject, parseJson(await readBody(req)), true);
          const rec = write(sobject, null, fields);
          effects.record(fields.Junction_Key__c as string | undefined);
          return send(res, log, 201, { id: rec.Id, success: true, errors: [] });
        }
        const row = tables.get(sobject)!.get(id);
        if (method === 'GET') {
          if (!row) return send(res, log, 404, sfError('NOT_FOUND', 'The requested resource does not exist'));
          const only = u.searchParams.get('fields');
          const names = only ? ['Id', ...only.split(',').map((f) => fieldName(sobject, f.trim()) ?? f.trim()).filter((f) => f !== 'Id')] : SANDBOX_SCHEMA[sobject].fields;
          const unknown = names.find((f) => !fieldName(sobject, f));
          if (unknown) return send(res, log, 400, sfError('INVALID_FIELD', `No such column '${unknown}' on entity '${sobject}'.`));
          const out: Record<string, unknown> = { attributes: { type: sobject, url: `${base}/sobjects/${sobject}/${id}` } };
          for (const f of names) out[f] = row.fields[f] ?? null;
          return send(res, log, 200, out);
        }
        if (method === 'PATCH') {
          const fields = checkBody(sobject, parseJson(await readBody(req)), false);
          if (!row) return send(res, log, 404, sfError('NOT_FOUND', 'The requested resource does not exist'));
          const since = req.headers['if-unmodified-since'];
          if (since) {
            const limitMs = Date.parse(String(since));
            if (Number.isFinite(limitMs) && toMs(row.fields.LastModifiedDate) > limitMs) {
              return send(res, log, 412, sfError('PRECONDITION_FAILED', `The requested Resource was modified since ${String(since)}`));
            }
          }
          write(sobject, id, fields);
          effects.record(fields.Junction_Key__c as string | undefined);
          return send(res, log, 204, undefined);
        }
        return notAllowed(res, log, method, 'GET,HEAD,PATCH');
      } catch (err) {
        if (Array.isArray(err) && typeof err[0] === 'number') return send(res, log, err[0], err[1]);
        throw err;
      }
    }
    return send(res, log, 404, sfError('NOT_FOUND', 'The requested resource does not exist'));
  };

  const notAllowed = (res: ServerResponse, log: SandboxRequestLog, method: string, allowed: string) =>
    send(res, log, 405, sfError('METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are ${allowed}`));

  const parseJson = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      throw [400, sfError('JSON_PARSER_ERROR', `Unexpected character in the request body at [line:1, column:1]`)];
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, log: SandboxRequestLog) => {
    const u = new URL(req.url ?? '/', 'http://sandbox.invalid');
    log.path = u.pathname;
    if (u.pathname.startsWith('/services/data/v') && /\/query\/?$/.test(u.pathname)) log.soql = u.searchParams.get('q') ?? undefined;
    requests.push(log);

    const inj = injections.find((i) => i.times > 0 && matches(i.match, u.pathname));
    if (inj) {
      inj.times--;
      injections = injections.filter((i) => i.times > 0);
      if (inj.delayMs) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, inj.delayMs);
          timers.add(t);
        });
      }
      if (inj.loseResponse) lostResponses.add(res);
      if (inj.respond) {
        req.resume();
        return send(res, log, inj.respond.status, inj.respond.body, inj.respond.headers);
      }
    }
    if (u.pathname === '/services/oauth2/token') return handleToken(req, res, log);
    if (u.pathname === '/services/data' || u.pathname.startsWith('/services/data/')) return handleApi(req, res, log, u);
    req.resume();
    return send(res, log, 404, sfError('NOT_FOUND', 'The requested resource does not exist'));
  };

  const server = createServer((req, res) => {
    if (effects.serve(req, res)) return;
    const log: SandboxRequestLog = { method: req.method ?? 'GET', path: '', status: 0 };
    handle(req, res, log).catch((err: unknown) => {
      send(res, log, 500, sfError('UNKNOWN_EXCEPTION', `An unexpected error occurred in the sandbox: ${err instanceof Error ? err.message : String(err)}`));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  url = `http://${host}:${addr.port}`;

  const respond = (times: number, status: number, body: unknown, headers: Record<string, string>, match: RequestMatch) =>
    inject({ times, match, respond: { status, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': JSON_TYPE, ...headers } } });

  const control: SandboxControl = {
    credentials,
    requests,
    stories,
    failNext(times, status = 500, opts = {}) {
      const headers: Record<string, string> = opts.retryAfterSeconds !== undefined ? { 'Retry-After': String(opts.retryAfterSeconds) } : {};
      if (status === 500) {
        respond(times, 500, sfError('UNKNOWN_EXCEPTION', 'An unexpected error occurred. Please include this ErrorId if you contact support: 1043298761-51623 (-1190351728)'), headers, opts.match ?? 'api');
      } else {
        const title = status === 502 ? 'Bad Gateway' : 'Service Unavailable';
        respond(times, status, `<html><head><title>${status} ${title}</title></head><body><h1>${title}</h1></body></html>`, { 'Content-Type': 'text/html', ...headers }, opts.match ?? 'api');
      }
    },
    rateLimitNext(times, kind = 'http429', opts = {}) {
      const match = opts.match ?? 'api';
      if (kind === 'http429') {
        respond(times, 429, sfError('REQUEST_LIMIT_EXCEEDED', 'Too many requests; slow down.'), { 'Retry-After': String(opts.retryAfterSeconds ?? 1) }, match);
      } else {
        const message = kind === 'daily' ? 'TotalRequests Limit exceeded.' : 'ConcurrentPerOrgLongTxn Limit exceeded.';
        respond(times, 403, sfError('REQUEST_LIMIT_EXCEEDED', message), {}, match);
      }
    },
    delayNext(times, ms, match = 'api') {
      inject({ times, match, delayMs: ms });
    },
    malformedNext(times, match = 'api') {
      respond(times, 200, '{"totalSize": 3, "done": false, "records": [{"attributes": {"type": "Acc', {}, match);
    },
    respondNext(times, status, body, opts = {}) {
      respond(times, status, body, opts.headers ?? {}, opts.match ?? 'api');
    },
    expireSessions() {
      tokens.clear();
    },
    refuseLogins(times) {
      refusedLogins += times;
    },
    expireQueryLocators() {
      locators.clear();
    },
    setInstanceUrl(u) {
      instanceUrl = u;
    },
    setMaxBatchSize(n) {
      if (n !== null && (!Number.isInteger(n) || n < 1)) throw new Error('batch size must be a positive integer');
      maxBatch = n;
    },
    update(sobject, id, fields) {
      try {
        return write(sobject, id, checkBody(sobject, fields, false));
      } catch (err) {
        throw toError(err);
      }
    },
    insert(sobject, fields) {
      try {
        return write(sobject, null, checkBody(sobject, fields, true));
      } catch (err) {
        throw toError(err);
      }
    },
    records(sobject) {
      return sorted(sobject).map((r) => ({ ...r.fields }));
    },
    counts() {
      return { Account: tables.get('Account')!.size, Contact: tables.get('Contact')!.size, Case: tables.get('Case')!.size, Task: tables.get('Task')!.size };
    },
    effects,
    loseResponseNext(times, match = 'api') {
      inject({ times, match, loseResponse: true });
    },
    reset() {
      injections = [];
      refusedLogins = 0;
      requests.length = 0;
    },
  };

  return {
    url,
    control,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function toError(err: unknown): Error {
  if (Array.isArray(err) && Array.isArray(err[1])) {
    const e = err[1][0] as { errorCode: string; message: string };
    return new Error(`${e.errorCode}: ${e.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
