/**
 * Kingdee streams: which FormId, which FieldKeys, how to page, what a record is.
 *
 * Rows come back from ExecuteBillQuery as arrays in FieldKeys order; each stream turns them into
 * objects keyed by column name (the Kingdee field key for standard fields, a stable name for the
 * account-specific custom fields, so mappings keep working when an admin re-points a column).
 *
 * Incremental streams (customers, materials, sales_orders, serials) page by keyset on
 * (FModifyDate, internal ids): each page asks for rows strictly after the last row read, in that
 * order, so no row is read twice in one read even when many share one FModifyDate or rows change
 * while the read runs (a changed row moves behind the position and is read again, as a new version).
 *
 * The stored cursor holds back a settle window: K3 stamps FModifyDate when a Save starts and the
 * row becomes visible when its transaction commits, seconds later for a long Save/Audit, and app
 * servers stamp with their own (hand-set) clocks. A row stamped before the last row read can thus
 * appear after the read. So the next read starts again at the window (rows stamped after
 * `horizon`) and skips the rows of the window it already handed on (`seen`, by key: a row changed
 * since has a new FModifyDate), handing on only what it had not seen. The horizon is the K3
 * server's time when the read started, less `settleSeconds`: rows stamped before it have committed
 * (if the window covers the longest transaction and the clock skew). That time is known from K3's
 * own stamps, never from comparing clocks: the newest FModifyDate read is a lower bound of the
 * server's time when it was read, carried forward by the time elapsed on this process's clock
 * (the cursor keeps that observation). Once the window has passed, the cursor is the exact
 * position of the last row again, so a quiet stream stops re-reading its window.
 *
 * The inventory stream is a snapshot (STK_Inventory has no modify date): keyset pages ordered by
 * material number, warehouse number and FID (the form's primary key), each asking for the rows
 * after the last row read, so a row deleted or added mid-read shifts nothing; rows of one material
 * in one warehouse (lots, aux properties) are summed into one stock record. A mid-read cursor
 * resumes after the last group delivered; the last page's cursor is null, so the next run re-reads it.
 */
import { Clock, ConnectorError, ReadOptions, SourcePage, SourceRecord, StreamDefinition, EntityKind } from '../../src/connectors';
import { KINGDEE_MAX_LIMIT, KingdeeClient } from './client';
import { KdTime, parseKingdeeDateTime } from './datetime';

export { parseKingdeeDateTime } from './datetime';

export const STREAM_NAMES = ['customers', 'materials', 'sales_orders', 'serials', 'inventory'] as const;
export type KingdeeStreamName = (typeof STREAM_NAMES)[number];

/** A column of a stream: `name` is its key in the emitted row, `key` the field key queried. */
export interface ColumnSpec {
  name: string;
  key: string;
}

interface StreamBase {
  name: KingdeeStreamName;
  entity: EntityKind;
  formId: string;
  columns: ColumnSpec[];
  /** Admin filter (FilterString syntax), ANDed with the paging condition; '' = none. */
  filter: string;
  pageSize: number;
}

export interface IncrementalStreamSpec extends StreamBase {
  mode: 'incremental';
  /** Column holding the modify date (ordered first). */
  cursorColumn: string;
  /** Numeric internal id columns that make the order total (FID, then FEntryID for lines). */
  idColumns: string[];
  /** The vendor id of a row, from its object. */
  externalId(row: Record<string, unknown>): string;
}

export interface SnapshotStreamSpec extends StreamBase {
  mode: 'snapshot';
  /** Row id column (ordered last). */
  idColumn: string;
  /** Columns whose values identify one stock record (material number, warehouse number). */
  groupColumns: string[];
  /** Column summed over the group. */
  quantityColumn: string;
}

export type StreamSpec = IncrementalStreamSpec | SnapshotStreamSpec;

const col = (name: string, key = name): ColumnSpec => ({ name, key });

/** Default page size; K3 allows at most 2000 rows per page. */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * Defaults for a standard K3 Cloud account set. Custom fields (`F_JUN_*`) are this project's
 * sandbox names: point them at your own fields with `streams.<name>.fields`.
 *
 * Customers and materials are identified by FNumber, not by their internal id: serials and sales
 * order lines refer to them by number (`F_JUN_CustId.FNumber`, `FCustId.FNumber`,
 * `FMaterialId.FNumber`) and the mappings resolve those references against this id. Base data
 * allocated (分配) to several organisations has one row per using organisation, each with its own
 * FCUSTID/FMATERIALID and the same FNumber and FMasterId, so those rows would overwrite each other
 * under one id. Decided: keep FNumber (FMasterId would break every reference by number) and have
 * a multi-organisation site pick one row per number with the stream filter, e.g.
 * `FUseOrgId.FNumber = '100'` (see README, "Several organisations").
 */
export function defaultStreamSpecs(): Record<KingdeeStreamName, StreamSpec> {
  const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return {
    customers: {
      name: 'customers',
      entity: 'customer',
      mode: 'incremental',
      formId: 'BD_Customer',
      columns: [col('FCUSTID'), col('FNumber'), col('FName'), col('FShortName'), col('FTEL'), col('FDocumentStatus'), col('FForbidStatus'), col('FModifyDate')],
      filter: '',
      pageSize: DEFAULT_PAGE_SIZE,
      cursorColumn: 'FModifyDate',
      idColumns: ['FCUSTID'],
      externalId: (r) => str(r.FNumber),
    },
    materials: {
      name: 'materials',
      entity: 'spare_part',
      mode: 'incremental',
      formId: 'BD_MATERIAL',
      columns: [
        col('FMATERIALID'),
        col('FNumber'),
        col('FName'),
        col('FSpecification'),
        col('FMaterialGroup.FNumber'),
        col('FMaterialGroup.FName'),
        col('FitModels', 'F_JUN_FitModels'),
        col('FDocumentStatus'),
        col('FForbidStatus'),
        col('FModifyDate'),
      ],
      // Spare parts only; device models (finished goods) live in another material group.
      filter: "FMaterialGroup.FNumber = 'SP'",
      pageSize: DEFAULT_PAGE_SIZE,
      cursorColumn: 'FModifyDate',
      idColumns: ['FMATERIALID'],
      externalId: (r) => str(r.FNumber),
    },
    sales_orders: {
      name: 'sales_orders',
      entity: 'purchase',
      mode: 'incremental',
      formId: 'SAL_SaleOrder',
      columns: [
        col('FID'),
        col('FBillNo'),
        col('FDate'),
        col('FCustId.FNumber'),
        col('FCustId.FName'),
        col('FSettleCurrId.FNumber'),
        col('FDocumentStatus'),
        col('FSaleOrderEntry_FEntryID'),
        col('FSaleOrderEntry_FSeq'),
        col('FMaterialId.FNumber'),
        col('FQty'),
        col('FAllAmount'),
        col('SerialNo', 'F_JUN_SerialNo'),
        col('FModifyDate'),
      ],
      filter: '',
      pageSize: DEFAULT_PAGE_SIZE,
      cursorColumn: 'FModifyDate',
      idColumns: ['FID', 'FSaleOrderEntry_FEntryID'],
      externalId: (r) => `${str(r.FBillNo)}-${str(r.FSaleOrderEntry_FSeq)}`,
    },
    serials: {
      name: 'serials',
      entity: 'device',
      mode: 'incremental',
      formId: 'BD_SerialMainFile',
      columns: [
        col('FSERIALID'),
        col('FNumber'),
        col('FMaterialID.FNumber'),
        col('CustomerNumber', 'F_JUN_CustId.FNumber'),
        col('ShipDate', 'F_JUN_ShipDate'),
        col('WarrantyEnd', 'F_JUN_WarrantyEnd'),
        col('Firmware', 'F_JUN_Firmware'),
        col('FModifyDate'),
      ],
      filter: '',
      pageSize: DEFAULT_PAGE_SIZE,
      cursorColumn: 'FModifyDate',
      idColumns: ['FSERIALID'],
      externalId: (r) => str(r.FSERIALID),
    },
    inventory: {
      name: 'inventory',
      entity: 'stock',
      mode: 'snapshot',
      formId: 'STK_Inventory',
      columns: [
        col('FID'),
        col('FMaterialId.FNumber'),
        col('FMaterialId.FName'),
        col('FStockId.FNumber'),
        col('FStockId.FName'),
        col('FStockOrgId.FNumber'),
        col('FLot.FNumber'),
        col('FBaseQty'),
      ],
      filter: '',
      pageSize: DEFAULT_PAGE_SIZE,
      idColumn: 'FID',
      groupColumns: ['FMaterialId.FNumber', 'FStockId.FNumber'],
      quantityColumn: 'FBaseQty',
    },
  };
}

/** Columns a stream cannot work without (their keys may be re-pointed, not removed). */
export function requiredColumns(spec: StreamSpec): string[] {
  return spec.mode === 'incremental' ? [spec.cursorColumn, ...spec.idColumns] : [spec.idColumn, ...spec.groupColumns, spec.quantityColumn];
}

export interface StreamContext {
  client: KingdeeClient;
  connector: string;
  /** Server-local UTC offset of the K3 site, in minutes (China: 480). */
  utcOffsetMinutes: number;
  /** Measures the time elapsed between reads (differences only; never compared with K3's clock). */
  clock: Clock;
  /** Incremental cursors stay this far behind the K3 server's time (see the file comment). */
  settleSeconds: number;
}

/** Default settle window: K3 Save/Audit of a big bill runs for seconds, and app server clocks drift. */
export const DEFAULT_SETTLE_SECONDS = 10;

/** Keys of the window's rows kept in a cursor at most; rows beyond are handed on again (skipped as unchanged by the pipeline). */
export const MAX_SEEN_KEYS = 1000;

// ---------------------------------------------------------------------------------------------
// Cursors

/**
 * Position after a row: cursor-column value (server-local literal or null) and numeric ids. A
 * position without ids (`[t]`) lies after every row stamped `t` or earlier.
 */
type KeyTuple = [string | null, ...number[]];

interface IncrementalCursor {
  v: 1;
  stream: string;
  form: string;
  /** Field keys the position refers to, in order. */
  keys: string[];
  /** The last row read. */
  after: KeyTuple;
  /** Present while rows read may still be joined by late commits: the next read starts at `from`. */
  window?: {
    /** Rows after this position are read again. */
    from: KeyTuple;
    /** Rows after `from` handed on already (at most MAX_SEEN_KEYS, the newest). */
    seen: KeyTuple[];
    /** The newest FModifyDate read (server-local literal) and this process's clock (epoch ms) when it was read. */
    newest: string;
    at: number;
  };
}

/** A value of a snapshot key column (material number, stock number, FID). */
type KeyValue = string | number | null;

interface SnapshotCursor {
  v: 1;
  stream: string;
  form: string;
  /** Group column values of the last group delivered: the read resumes with the groups after it. */
  after: KeyValue[];
}

function keyOf(spec: StreamSpec, name: string): string {
  return spec.columns.find((c) => c.name === name)!.key;
}

function misconfigured(ctx: StreamContext, spec: StreamSpec, why: string): ConnectorError {
  return new ConnectorError({ code: 'CONNECTOR_MISCONFIGURED', connector: ctx.connector, message: `${ctx.connector}: stream ${spec.name}: ${why}` });
}

function badResponse(ctx: StreamContext, spec: StreamSpec, why: string): ConnectorError {
  return new ConnectorError({
    code: 'CONNECTOR_BAD_RESPONSE',
    connector: ctx.connector,
    method: 'POST',
    path: 'ExecuteBillQuery',
    message: `${ctx.connector}: stream ${spec.name} (${spec.formId}): ${why}`,
  });
}

function parseCursor(ctx: StreamContext, spec: StreamSpec, cursor: string): Record<string, unknown> {
  let c: unknown;
  try {
    c = JSON.parse(cursor);
  } catch {
    c = undefined;
  }
  if (typeof c !== 'object' || c === null || (c as { v?: unknown }).v !== 1 || (c as { stream?: unknown }).stream !== spec.name) {
    throw misconfigured(ctx, spec, `the stored cursor is not a cursor of this stream (${cursor.slice(0, 200)}); reset the stream's sync state`);
  }
  const form = (c as { form?: unknown }).form;
  if (form !== spec.formId) {
    throw misconfigured(ctx, spec, `the stored cursor was written for FormId ${String(form)}, the stream now reads ${spec.formId}; reset the stream's sync state`);
  }
  return c as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------

function toObject(spec: StreamSpec, row: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < spec.columns.length; i++) o[spec.columns[i].name] = row[i];
  return o;
}

function pageSizeOf(spec: StreamSpec, opts?: ReadOptions): number {
  const n = Math.trunc(opts?.pageSize ?? spec.pageSize);
  return Math.min(KINGDEE_MAX_LIMIT, Math.max(1, Number.isFinite(n) ? n : DEFAULT_PAGE_SIZE));
}

function and(a: string, b: string): string {
  if (!a.trim()) return b;
  if (!b.trim()) return a;
  return `(${a}) AND (${b})`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A key value as a FilterString literal: strings quoted, numbers as they are. */
function literal(v: string | number): string {
  return typeof v === 'number' ? String(v) : quote(v);
}

/**
 * `(A > a OR (A = a AND (B > b OR (B = b AND C > c))))` over the first `after.length` keys, NULL
 * sorting first (`((A IS NULL AND …) OR A IS NOT NULL)`); a position without ids (`[t]`) is
 * `A > t` (`A IS NOT NULL` for NULL).
 */
export function keysetFilter(keys: string[], after: readonly (string | number | null)[]): string {
  const part = (i: number): string => {
    const k = keys[i];
    const v = after[i];
    if (i === after.length - 1) return v === null ? `${k} IS NOT NULL` : `${k} > ${literal(v)}`;
    const rest = part(i + 1);
    return v === null ? `((${k} IS NULL AND ${rest}) OR ${k} IS NOT NULL)` : `(${k} > ${literal(v)} OR (${k} = ${literal(v)} AND ${rest}))`;
  };
  return part(0);
}

/** Orders positions as the query does; a position without ids comes after every row of its time. */
function compareTuples(a: KeyTuple, aSort: string | null, b: KeyTuple, bSort: string | null): number {
  if (aSort !== bSort) {
    if (aSort === null) return -1;
    if (bSort === null) return 1;
    return aSort < bSort ? -1 : 1;
  }
  if (a.length === 1 || b.length === 1) return a.length === b.length ? 0 : a.length === 1 ? 1 : -1;
  for (let i = 1; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function describeTuple(keys: string[], t: KeyTuple): string {
  if (t.length === 1) return `${keys[0]} after ${t[0] === null ? 'NULL' : String(t[0])}`;
  return keys.map((k, i) => `${k}=${t[i] === null ? 'NULL' : String(t[i])}`).join(', ');
}

/** A K3 FilterString literal (server-local, milliseconds) of an instant. */
function literalOf(ms: number, utcOffsetMinutes: number): string {
  const local = new Date(ms + utcOffsetMinutes * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 23)}`;
}

/** Identity of a row position for the window's `seen` set (sort key, so both date notations agree). */
function positionId(t: KeyTuple, sort: string | null): string {
  return `${sort ?? ''}|${t.slice(1).join(',')}`;
}

async function* readIncremental(ctx: StreamContext, spec: IncrementalStreamSpec, cursor: string | null, opts?: ReadOptions): AsyncGenerator<SourcePage> {
  const keys = [spec.cursorColumn, ...spec.idColumns].map((n) => keyOf(spec, n));
  const offset = ctx.utcOffsetMinutes;
  const sortOf = (t: KeyTuple) => (t[0] === null ? null : parseKingdeeDateTime(t[0], offset)!.sortKey);
  const validTuple = (a: unknown, rowPosition: boolean): a is KeyTuple =>
    Array.isArray(a) &&
    (a.length === keys.length || (!rowPosition && a.length === 1)) &&
    (a[0] === null || (typeof a[0] === 'string' && parseKingdeeDateTime(a[0], offset) !== undefined)) &&
    a.slice(1).every((x) => typeof x === 'number' && Number.isFinite(x));

  /** The newest row handed on, by this read or an earlier one (the cursor's `after`). */
  let newest: KeyTuple | null = null;
  /** Where this read starts: the exact position, or the start of the window read again. */
  let start: KeyTuple | null = null;
  /** Window rows handed on by an earlier read and not met again yet: skipped when met. */
  const handedOn = new Map<string, { key: KeyTuple; sort: string | null }>();
  /** The K3 server's clock was at least `ms` (epoch) when this process's clock read `at`. */
  let anchor: { ms: number; at: number } | null = null;
  if (cursor) {
    const c = parseCursor(ctx, spec, cursor) as unknown as IncrementalCursor;
    if (!Array.isArray(c.keys) || c.keys.join(',') !== keys.join(',')) {
      throw misconfigured(ctx, spec, `the stored cursor orders by ${String(c.keys)}, the stream now orders by ${keys.join(',')}; reset the stream's sync state`);
    }
    if (!validTuple(c.after, true)) throw misconfigured(ctx, spec, `the stored cursor position ${JSON.stringify(c.after)} is malformed; reset the stream's sync state`);
    newest = c.after;
    start = c.after;
    if (c.window !== undefined) {
      const w = c.window as Partial<NonNullable<IncrementalCursor['window']>> | null;
      const seenAt = w && typeof w.newest === 'string' ? parseKingdeeDateTime(w.newest, offset) : undefined;
      const valid =
        w !== null &&
        typeof w === 'object' &&
        validTuple(w.from, false) &&
        compareTuples(w.from, sortOf(w.from), c.after, sortOf(c.after)) <= 0 &&
        Array.isArray(w.seen) &&
        w.seen.every((t) => validTuple(t, true)) &&
        seenAt !== undefined &&
        typeof w.at === 'number' &&
        Number.isFinite(w.at);
      if (!valid) throw misconfigured(ctx, spec, `the stored cursor window ${JSON.stringify(w).slice(0, 200)} is malformed; reset the stream's sync state`);
      start = w.from!;
      for (const key of w.seen!) {
        const sort = sortOf(key);
        handedOn.set(positionId(key, sort), { key, sort });
      }
      anchor = { ms: Date.parse(seenAt.iso), at: w.at! };
    }
  }
  const startSort = start ? sortOf(start) : null;
  let newestSort = newest ? sortOf(newest) : null;
  const settleMs = Math.max(0, ctx.settleSeconds) * 1000;
  let readStartedAt: number | undefined;
  /** Rows read after `start`, in order (the tail after the window's start becomes `seen`). */
  let read: { key: KeyTuple; sort: string | null }[] = [];

  /**
   * The cursor after what has been read up to `reached` (the last row read; the newest row once
   * the read is over): resume there or, if rows after the horizon were read, at the horizon (never
   * before `start`), with the rows after it that were handed on as `seen`.
   */
  const encode = (reached: KeyTuple, reachedSort: string | null): string | null => {
    if (!newest) return null;
    const base = { v: 1 as const, stream: spec.name, form: spec.formId, keys, after: newest };
    // Rows stamped up to the horizon had committed when this read started.
    const horizon: KeyTuple = anchor ? [literalOf(anchor.ms + (readStartedAt! - anchor.at) - settleMs, offset)] : [null];
    let from = horizon;
    let fromSort = sortOf(horizon);
    if (start && compareTuples(start, startSort, from, fromSort) > 0) [from, fromSort] = [start, startSort];
    if (compareTuples(reached, reachedSort, from, fromSort) < 0) [from, fromSort] = [reached, reachedSort];
    const after = (e: { key: KeyTuple; sort: string | null }) => compareTuples(e.key, e.sort, from, fromSort) > 0;
    let drop = 0; // `from` never moves back within a read: what is behind it now stays behind
    while (drop < read.length && !after(read[drop])) drop++;
    if (drop) read = read.slice(drop);
    if (read.length > MAX_SEEN_KEYS) read = read.slice(read.length - MAX_SEEN_KEYS);
    const seen = [...read, ...[...handedOn.values()].filter(after)];
    if (seen.length === 0 && compareTuples(from, fromSort, newest, newestSort) === 0) return JSON.stringify(base satisfies IncrementalCursor);
    seen.sort((a, b) => compareTuples(a.key, a.sort, b.key, b.sort));
    const window = { from, seen: seen.slice(-MAX_SEEN_KEYS).map((e) => e.key), newest: literalOf(anchor ? anchor.ms : 0, offset), at: anchor ? anchor.at : 0 };
    return JSON.stringify({ ...base, window } satisfies IncrementalCursor);
  };

  const limit = pageSizeOf(spec, opts);
  const fieldKeys = spec.columns.map((c) => c.key).join(',');
  const order = keys.map((k) => `${k} ASC`).join(',');
  // Position of the last row read in this read (the query continues after it).
  let after: KeyTuple | null = start;
  let afterSort = startSort;
  let position: KeyTuple | null = null;
  let positionSort: string | null = null;
  for (;;) {
    if (opts?.signal?.aborted) throw opts.signal.reason;
    // Rows handed on already do not count: ask for as many more as may be skipped.
    const queryLimit = Math.min(KINGDEE_MAX_LIMIT, limit + handedOn.size);
    readStartedAt ??= ctx.clock.now();
    const rows = await ctx.client.executeBillQuery(
      { FormId: spec.formId, FieldKeys: fieldKeys, FilterString: and(spec.filter, after ? keysetFilter(keys, after) : ''), OrderString: order, TopRowCount: 0, StartRow: 0, Limit: queryLimit },
      { signal: opts?.signal },
    );
    const receivedAt = ctx.clock.now();
    if (rows.length > queryLimit) throw badResponse(ctx, spec, `ExecuteBillQuery returned ${rows.length} rows for Limit ${queryLimit}`);
    const records: SourceRecord[] = [];
    let processed = 0;
    let lastTime: KdTime | null = null;
    for (let i = 0; i < rows.length && records.length < limit; i++) {
      const row = toObject(spec, rows[i]);
      const rawTime = row[spec.cursorColumn];
      const time = rawTime === null || rawTime === undefined || rawTime === '' ? null : parseKingdeeDateTime(rawTime, offset);
      if (time === undefined) throw badResponse(ctx, spec, `row ${i}: ${keys[0]} ${JSON.stringify(rawTime)} is not a Kingdee datetime`);
      const ids = spec.idColumns.map((n) => Number(row[n]));
      const badId = ids.findIndex((x, j) => !Number.isFinite(x) || row[spec.idColumns[j]] === null || row[spec.idColumns[j]] === '');
      if (badId >= 0) throw badResponse(ctx, spec, `row ${i}: ${keys[badId + 1]} ${JSON.stringify(row[spec.idColumns[badId]])} is not a numeric id`);
      const key: KeyTuple = [time ? time.literal : null, ...ids];
      const keySort = time ? time.sortKey : null;
      if (after && compareTuples(key, keySort, after, afterSort) <= 0) {
        throw badResponse(
          ctx,
          spec,
          `row ${i} (${describeTuple(keys, key)}) is not after the position already read (${describeTuple(keys, after)}): the server repeated rows or ignored FilterString/OrderString; stopped so nothing is read twice or skipped`,
        );
      }
      after = position = key;
      afterSort = positionSort = keySort;
      processed = i + 1;
      if (time) lastTime = time;
      if (!newest || compareTuples(key, keySort, newest, newestSort) > 0) [newest, newestSort] = [key, keySort];
      read.push({ key, sort: keySort });
      if (handedOn.size && handedOn.delete(positionId(key, keySort))) continue; // handed on by an earlier read, unchanged since
      const externalId = spec.externalId(row);
      if (!externalId) throw badResponse(ctx, spec, `row ${i} (${describeTuple(keys, key)}) has no external id`);
      records.push({ externalId, version: time ? time.iso : null, updatedAt: time ? time.iso : null, payload: row });
    }
    if (lastTime) {
      // The server's clock had reached this row's stamp by the time the answer arrived.
      const ms = Date.parse(lastTime.iso);
      if (!anchor || ms - receivedAt > anchor.ms - anchor.at) anchor = { ms, at: receivedAt };
    }
    const hasMore = processed < rows.length || rows.length === queryLimit;
    // A page of skipped rows only carries a position; the next page's cursor covers it.
    if (records.length === 0 && hasMore) continue;
    // A short page means the read saw everything there was: it reached past the newest row.
    const reached = hasMore ? position : newest;
    yield { records, cursor: reached ? encode(reached, hasMore ? positionSort : newestSort) : null, hasMore };
    if (!hasMore) return;
  }
}

function addQuantities(a: number, b: number): number {
  return Math.round((a + b) * 1e9) / 1e9;
}

/** Whether two pages hold the same values (a server that ignores the position); cells compare as their JSON does. */
function samePage(a: unknown[][], b: unknown[][]): boolean {
  if (a.length !== b.length) return false;
  const sameCell = (x: unknown, y: unknown) => x === y || (typeof x === 'object' && typeof y === 'object' && JSON.stringify(x) === JSON.stringify(y));
  return a.every((row, i) => {
    const other = b[i];
    if (!Array.isArray(row) || !Array.isArray(other)) return sameCell(row, other);
    return row.length === other.length && row.every((x, j) => sameCell(x, other[j]));
  });
}

async function* readSnapshot(ctx: StreamContext, spec: SnapshotStreamSpec, cursor: string | null, opts?: ReadOptions): AsyncGenerator<SourcePage> {
  const groupKeys = spec.groupColumns.map((n) => keyOf(spec, n));
  const rowKeys = [...groupKeys, keyOf(spec, spec.idColumn)];
  const isKeyValue = (v: unknown): v is KeyValue => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
  /** Where the next read resumes: after this group (null: from the start). */
  let resume: KeyValue[] | null = null;
  if (cursor) {
    const c = parseCursor(ctx, spec, cursor) as unknown as SnapshotCursor & { startRow?: unknown };
    // A cursor of the StartRow paging this stream used before: a snapshot may start over.
    if (c.after === undefined && c.startRow !== undefined) resume = null;
    else if (Array.isArray(c.after) && c.after.length === groupKeys.length && c.after.every(isKeyValue)) resume = c.after;
    else throw misconfigured(ctx, spec, `the stored cursor position ${JSON.stringify(c.after)} is malformed; reset the stream's sync state`);
  }
  const limit = pageSizeOf(spec, opts);
  const fieldKeys = spec.columns.map((c) => c.key).join(',');
  // Keyset pages (as the incremental streams do): a row deleted or added before the position
  // mid-read shifts no later row, as StartRow offsets did (one row skipped or read twice).
  const order = rowKeys.map((k) => `${k} ASC`).join(',');
  const groupKey = (row: Record<string, unknown>) => spec.groupColumns.map((n) => String(row[n] ?? '')).join('|');
  const valueOf = (v: unknown): KeyValue => (v === undefined ? null : isKeyValue(v) ? v : String(v));
  const seen = new Set<string>();
  let after: KeyValue[] | null = resume; // position of the next request: a group, then rows
  let held: Record<string, unknown>[] = []; // rows of a group that may continue on the next page
  let previousPage: unknown[][] = [];

  for (;;) {
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const rows = await ctx.client.executeBillQuery(
      { FormId: spec.formId, FieldKeys: fieldKeys, FilterString: and(spec.filter, after ? keysetFilter(rowKeys, after) : ''), OrderString: order, TopRowCount: 0, StartRow: 0, Limit: limit },
      { signal: opts?.signal },
    );
    if (rows.length > limit) throw badResponse(ctx, spec, `ExecuteBillQuery returned ${rows.length} rows for Limit ${limit}`);
    if (rows.length > 0 && samePage(rows, previousPage)) {
      throw badResponse(ctx, spec, `the page after ${describeValues(rowKeys, after)} repeats the previous page: the server ignored FilterString; stopped so nothing is counted twice`);
    }
    previousPage = rows;
    const last = rows.length < limit;
    const objects = rows.map((r) => toObject(spec, r));
    if (!last) {
      const tail = objects[objects.length - 1];
      const id = tail[spec.idColumn];
      if (id === null || id === undefined || id === '') {
        throw badResponse(ctx, spec, `row ${objects.length - 1} (${groupKey(tail)}) has no ${keyOf(spec, spec.idColumn)}: the next page cannot be asked for after it`);
      }
      after = [...spec.groupColumns.map((n) => valueOf(tail[n])), valueOf(id)];
    }

    const groups: Record<string, unknown>[][] = [];
    for (const row of [...held, ...objects]) {
      const g = groups[groups.length - 1];
      if (g && groupKey(g[0]) === groupKey(row)) g.push(row);
      else groups.push([row]);
    }
    held = last ? [] : (groups.pop() ?? []);

    const records: SourceRecord[] = [];
    for (const g of groups) {
      const id = groupKey(g[0]);
      if (seen.has(id)) throw badResponse(ctx, spec, `rows of ${id} are not contiguous in the ordered result: the server ignored OrderString`);
      seen.add(id);
      let qty = 0;
      g.forEach((row, i) => {
        const n = Number(row[spec.quantityColumn]);
        if (row[spec.quantityColumn] === null || row[spec.quantityColumn] === '' || !Number.isFinite(n)) {
          throw badResponse(ctx, spec, `${id} row ${i} (${spec.idColumn} ${String(row[spec.idColumn])}): ${keyOf(spec, spec.quantityColumn)} ${JSON.stringify(row[spec.quantityColumn])} is not a number`);
        }
        qty = addQuantities(qty, n);
      });
      const payload: Record<string, unknown> = {};
      for (const c of spec.columns) {
        if (c.name === spec.idColumn || c.name === spec.quantityColumn) continue;
        if (g.every((r) => r[c.name] === g[0][c.name])) payload[c.name] = g[0][c.name];
      }
      payload[spec.quantityColumn] = qty;
      payload.rows = g;
      records.push({ externalId: id, version: null, updatedAt: null, payload });
      resume = spec.groupColumns.map((n) => valueOf(g[0][n]));
    }
    const cursorOut = last || !resume ? null : JSON.stringify({ v: 1, stream: spec.name, form: spec.formId, after: resume } satisfies SnapshotCursor);
    yield { records, cursor: cursorOut, hasMore: !last };
    if (last) return;
  }
}

function describeValues(keys: string[], values: KeyValue[] | null): string {
  return values ? keys.map((k, i) => `${k}=${values[i] === null ? 'NULL' : String(values[i])}`).join(', ') : 'the start';
}

export function createStream(ctx: StreamContext, spec: StreamSpec): StreamDefinition {
  return {
    name: spec.name,
    entity: spec.entity,
    read: (cursor, opts) => (spec.mode === 'incremental' ? readIncremental(ctx, spec, cursor, opts) : readSnapshot(ctx, spec, cursor, opts)),
  };
}
