/**
 * Salesforce streams: one SOQL query per read, ordered by (SystemModstamp, Id), paged through
 * nextRecordsUrl. The cursor after each page is the last record's (SystemModstamp, Id), so a read
 * that stops anywhere (crash, cancel, expired query locator) resumes with
 *
 *   WHERE (SystemModstamp > m OR (SystemModstamp = m AND Id > 'id'))
 *
 * which skips exactly what was stored and nothing else, even when many records share one
 * modstamp across a page boundary (bulk updates do that). Salesforce keeps datetimes to the
 * second (values come back as `.000`) and compares them at that precision, so the cursor keeps
 * seconds and the pair (second, Id) is the total order the query sorts by.
 *
 * One exception keeps it gap-free: a second that was not over on the server when the query ran
 * (per the Date header of the query's response), or younger than `settleSeconds`, can still
 * receive changes (a record read at 10:00:00.2 and saved again at 10:00:00.8 keeps SystemModstamp
 * 10:00:00) or commits that are still in flight. A cursor never moves past such a record: it
 * stops before that window, so the next read takes the window again and the pipeline skips the
 * versions it already has. The window is the query's, for all its nextRecordsUrl pages: they come
 * from the result set fixed when the query ran, so a later page's Date says nothing about what
 * that query missed (a read slower than `settleSeconds` would otherwise step over its own second).
 */
import { abortReason, Clock, ConnectorError, EntityKind, isConnectorError, ReadOptions, SourcePage, SourceRecord, StreamDefinition } from '../../src/connectors';
import { QueryPage, SalesforceClient, SalesforceRecord } from './client';
import type { SalesforceSettings, SalesforceStreamName } from './config';

export interface StreamSpec {
  name: SalesforceStreamName;
  entity: EntityKind;
  sobject: string;
  /** Selected fields, Id and SystemModstamp included. */
  fields: string[];
  pageSize?: number;
  /** Cursors stay before records this young on the server clock (see the file comment). */
  settleSeconds: number;
}

/** Position after a record: its SystemModstamp (epoch ms, whole seconds) and Id. */
export interface Position {
  ms: number;
  id?: string;
}

const ACCOUNT_FIELDS = ['Id', 'Name', 'Phone', 'BillingState', 'BillingCity', 'CreatedDate', 'SystemModstamp'];
const CONTACT_FIELDS = ['Id', 'AccountId', 'Name', 'FirstName', 'LastName', 'Phone', 'MobilePhone', 'CreatedDate', 'SystemModstamp'];
const CASE_FIELDS = ['Id', 'CaseNumber', 'AccountId', 'ContactId', 'Subject', 'Status', 'IsClosed', 'CreatedDate', 'ClosedDate', 'SystemModstamp'];

export function streamSpecs(settings: SalesforceSettings): StreamSpec[] {
  const s = settings.streams;
  const specs: StreamSpec[] = [
    { name: 'accounts', entity: 'customer', sobject: 'Account', fields: withFields(ACCOUNT_FIELDS, [s.accounts.tierField, ...s.accounts.extraFields]), pageSize: s.accounts.pageSize, settleSeconds: settings.settleSeconds },
    { name: 'contacts', entity: 'customer', sobject: 'Contact', fields: withFields(CONTACT_FIELDS, s.contacts.extraFields), pageSize: s.contacts.pageSize, settleSeconds: settings.settleSeconds },
    { name: 'cases', entity: 'complaint', sobject: 'Case', fields: withFields(CASE_FIELDS, [s.cases.serialField, ...s.cases.extraFields]), pageSize: s.cases.pageSize, settleSeconds: settings.settleSeconds },
  ];
  return specs.filter((spec) => s[spec.name].enabled);
}

function withFields(base: string[], more: string[]): string[] {
  const out = [...base];
  for (const f of more) if (!out.some((x) => x.toLowerCase() === f.toLowerCase())) out.push(f);
  return out;
}

// ---------------------------------------------------------------------------------------------
// SOQL, datetimes and cursors

/** The query a read sends: everything after `after`, in (SystemModstamp, Id) order. */
export function buildSoql(spec: Pick<StreamSpec, 'sobject' | 'fields'>, after: Position | null): string {
  let where = '';
  if (after) {
    const m = soqlDateTime(after.ms);
    where = after.id ? ` WHERE (SystemModstamp > ${m} OR (SystemModstamp = ${m} AND Id > '${after.id}'))` : ` WHERE SystemModstamp > ${m}`;
  }
  return `SELECT ${spec.fields.join(', ')} FROM ${spec.sobject}${where} ORDER BY SystemModstamp ASC, Id ASC`;
}

/** SOQL dateTime literal, UTC, whole seconds, unquoted: 2026-02-18T08:00:00Z */
export function soqlDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * Epoch ms of a Salesforce dateTime (`2026-02-18T08:00:00.000+0000`), a SOQL literal
 * (`2026-02-18T08:00:00Z`) or ISO 8601 with an offset; undefined for anything else.
 */
export function parseSalesforceDateTime(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = DATETIME.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0);
  if (new Date(utc).getUTCDate() !== d) return undefined; // 2026-02-30
  let offsetMin = 0;
  if (m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1 : 1;
    const digits = m[8].slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  return utc - offsetMin * 60_000;
}

const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** `2026-11-19T02:00:00Z|0015g00000tZdgCbxZ` */
export function encodeCursor(p: Position): string {
  return p.id ? `${soqlDateTime(p.ms)}|${p.id}` : soqlDateTime(p.ms);
}

/**
 * A stored cursor, or a bare dateTime an admin typed ("sync what changed since ..."). Anything else
 * is refused before a query is built from it.
 */
export function decodeCursor(cursor: string | null, connector: string, stream: string): Position | null {
  if (cursor === null || cursor === '') return null;
  const [stamp, id, ...rest] = cursor.split('|');
  const ms = parseSalesforceDateTime(stamp);
  if (ms === undefined || rest.length || (id !== undefined && !RECORD_ID.test(id))) {
    throw new ConnectorError({
      code: 'CONNECTOR_MISCONFIGURED',
      connector,
      message: `${connector}: cursor ${JSON.stringify(cursor.slice(0, 100))} of stream ${stream} is neither "<SystemModstamp>|<Id>" nor a dateTime`,
    });
  }
  return { ms: Math.floor(ms / 1000) * 1000, id };
}

/**
 * Where the next read starts: right after `position`, unless `position` lies in the window that
 * may still change (the second the query ran in, `queryTime`, and the `settleSeconds` before it).
 * Then the cursor stops before that window, but never before where this read started.
 */
export function pageCursor(position: Position | null, start: Position | null, queryTime: number, settleSeconds: number): string | null {
  if (!position) return null;
  const horizon = Math.floor(queryTime / 1000) * 1000 - settleSeconds * 1000;
  if (position.ms >= horizon) {
    if (start && start.ms > horizon - 1000) return encodeCursor(start);
    return encodeCursor({ ms: horizon - 1000 });
  }
  return encodeCursor(position);
}

// ---------------------------------------------------------------------------------------------
// Reading

/** `clock` is the local clock, the settle window's fallback when a query answer has no Date header. */
export function createQueryStream(client: SalesforceClient, spec: StreamSpec, clock: Clock): StreamDefinition {
  return {
    name: spec.name,
    entity: spec.entity,
    read: (cursor, opts) => readQuery(client, spec, clock, cursor, opts),
  };
}

async function* readQuery(client: SalesforceClient, spec: StreamSpec, clock: Clock, cursor: string | null, opts: ReadOptions = {}): AsyncGenerator<SourcePage> {
  const { signal } = opts;
  const connector = client.connector;
  const start = decodeCursor(cursor, connector, spec.name);
  let position = start;
  const batchSize = opts.pageSize ?? spec.pageSize;
  const fail = (path: string, what: string) => client.badResponse('GET', path, 200, what);

  // Guards against a vendor that pages in circles: every nextRecordsUrl once, records in order.
  const visited = new Set<string>();
  let tie: { ms: number; ids: Set<string> } | null = position ? { ms: position.ms, ids: new Set(position.id ? [position.id] : []) } : null;
  let next: string | null = null;
  let requeriedAfterLocatorLoss = false;
  /** Server time of the query whose result set the pages come from (see the file comment). */
  let queryTime = 0;

  for (;;) {
    if (signal?.aborted) throw abortReason(signal);
    let page: QueryPage;
    let path: string;
    if (next === null) {
      path = `${client.dataPath}/query`;
      // No Date header: the local clock when the query was sent (not when it answered), so a slow
      // answer cannot push the window past the query's second; a skewed clock is on the operator.
      const sentAt = clock.now();
      page = await client.query(buildSoql(spec, position), { batchSize, signal });
      // Every page of this query, and only of this one (a re-query takes its own), settles by it.
      queryTime = page.serverTime ?? sentAt;
    } else {
      path = next;
      try {
        page = await client.queryMore(next, { signal });
      } catch (err) {
        // Query locators lapse (about 15 minutes idle, or too many open): the keyset cursor makes a
        // fresh query from the last record handed out exact, so start one, once per page.
        if (!requeriedAfterLocatorLoss && isConnectorError(err) && err.vendorErrors?.some((e) => e.code === 'INVALID_QUERY_LOCATOR')) {
          requeriedAfterLocatorLoss = true;
          next = null;
          visited.clear();
          continue;
        }
        throw err;
      }
    }

    const records: SourceRecord[] = [];
    for (const raw of page.records) {
      const rec = raw as SalesforceRecord;
      const ms = parseSalesforceDateTime(rec.SystemModstamp);
      if (ms === undefined) throw fail(path, `has record ${rec.Id} without a SystemModstamp dateTime (got ${JSON.stringify(rec.SystemModstamp)})`);
      const sec = Math.floor(ms / 1000) * 1000;
      if (tie && sec < tie.ms) throw fail(path, `is out of SystemModstamp order: ${rec.Id} (${String(rec.SystemModstamp)}) comes after ${new Date(tie.ms).toISOString()}`);
      if (tie && sec === tie.ms && tie.ids.has(rec.Id)) throw fail(path, `repeats record ${rec.Id} (SystemModstamp ${String(rec.SystemModstamp)}) already read in this pass`);
      if (!tie || sec > tie.ms) tie = { ms: sec, ids: new Set() };
      tie.ids.add(rec.Id);
      const iso = new Date(ms).toISOString();
      records.push({ externalId: rec.Id, version: iso, updatedAt: iso, payload: rec });
      position = { ms: sec, id: rec.Id };
    }

    if (!page.done) {
      const url = page.nextRecordsUrl;
      if (!url) throw fail(path, 'says done: false but has no nextRecordsUrl');
      if (visited.has(url)) throw fail(path, `sends nextRecordsUrl ${url} a second time; stopping instead of paging in a circle`);
      visited.add(url);
      next = url;
    }
    // An empty batch that is not the last one carries nothing to store: go on to the next.
    if (records.length === 0 && !page.done) continue;
    if (records.length) requeriedAfterLocatorLoss = false;
    yield { records, cursor: pageCursor(position, start, queryTime, spec.settleSeconds), hasMore: !page.done };
    if (page.done) return;
  }
}
