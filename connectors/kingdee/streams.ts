/**
 * Kingdee streams: which FormId, which FieldKeys, how to page, what a record is.
 *
 * Rows come back from ExecuteBillQuery as arrays in FieldKeys order; each stream turns them into
 * objects keyed by column name (the Kingdee field key for standard fields, a stable name for the
 * account-specific custom fields, so mappings keep working when an admin re-points a column).
 *
 * Incremental streams (customers, materials, sales_orders, serials) page by keyset on
 * (FModifyDate, internal ids): each page asks for rows strictly after the last row delivered, in
 * that order. The cursor stored after a page is that last row's key, so a read resumed after a
 * crash between pages continues exactly behind the last stored row: no gap, no duplicate, even
 * when many rows share one FModifyDate or rows change while the read runs (a changed row moves
 * behind the cursor and is read again, as a new version).
 *
 * The inventory stream is a snapshot (STK_Inventory has no modify date): StartRow/Limit pages
 * ordered by material, warehouse and FID; rows of one material in one warehouse (lots, aux
 * properties) are summed into one stock record. A mid-read cursor resumes at the first row of
 * the first group not yet delivered; the last page's cursor is null, so the next run re-reads it.
 */
import { ConnectorError, ReadOptions, SourcePage, SourceRecord, StreamDefinition, EntityKind } from '../../src/connectors';
import { KINGDEE_MAX_LIMIT, KingdeeClient } from './client';
import { parseKingdeeDateTime } from './datetime';

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
}

// ---------------------------------------------------------------------------------------------
// Cursors

/** Position after a row: cursor-column value (server-local literal or null) and numeric ids. */
type KeyTuple = [string | null, ...number[]];

interface IncrementalCursor {
  v: 1;
  stream: string;
  form: string;
  /** Field keys the position refers to, in order. */
  keys: string[];
  after: KeyTuple;
}

interface SnapshotCursor {
  v: 1;
  stream: string;
  form: string;
  startRow: number;
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

/** `(A > a OR (A = a AND (B > b OR (B = b AND C > c))))`, with NULL sorting first for A. */
export function keysetFilter(keys: string[], after: KeyTuple): string {
  const [time, ...ids] = after;
  const idPart = (i: number): string => {
    const k = keys[i + 1];
    const v = ids[i];
    return i === ids.length - 1 ? `${k} > ${v}` : `(${k} > ${v} OR (${k} = ${v} AND ${idPart(i + 1)}))`;
  };
  const rest = idPart(0);
  const t = keys[0];
  if (time === null) return `((${t} IS NULL AND ${rest}) OR ${t} IS NOT NULL)`;
  return `(${t} > ${quote(time)} OR (${t} = ${quote(time)} AND ${rest}))`;
}

function compareTuples(a: KeyTuple, aSort: string | null, b: KeyTuple, bSort: string | null): number {
  if (aSort !== bSort) {
    if (aSort === null) return -1;
    if (bSort === null) return 1;
    return aSort < bSort ? -1 : 1;
  }
  for (let i = 1; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function describeTuple(keys: string[], t: KeyTuple): string {
  return keys.map((k, i) => `${k}=${t[i] === null ? 'NULL' : String(t[i])}`).join(', ');
}

async function* readIncremental(ctx: StreamContext, spec: IncrementalStreamSpec, cursor: string | null, opts?: ReadOptions): AsyncGenerator<SourcePage> {
  const keys = [spec.cursorColumn, ...spec.idColumns].map((n) => keyOf(spec, n));
  let after: KeyTuple | null = null;
  if (cursor) {
    const c = parseCursor(ctx, spec, cursor) as unknown as IncrementalCursor;
    if (!Array.isArray(c.keys) || c.keys.join(',') !== keys.join(',')) {
      throw misconfigured(ctx, spec, `the stored cursor orders by ${String(c.keys)}, the stream now orders by ${keys.join(',')}; reset the stream's sync state`);
    }
    const a = c.after;
    const valid =
      Array.isArray(a) &&
      a.length === keys.length &&
      (a[0] === null || (typeof a[0] === 'string' && parseKingdeeDateTime(a[0], ctx.utcOffsetMinutes))) &&
      a.slice(1).every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!valid) throw misconfigured(ctx, spec, `the stored cursor position ${JSON.stringify(a)} is malformed; reset the stream's sync state`);
    after = a;
  }
  const encode = (t: KeyTuple | null): string | null =>
    t === null ? null : JSON.stringify({ v: 1, stream: spec.name, form: spec.formId, keys, after: t } satisfies IncrementalCursor);
  const sortOf = (t: KeyTuple) => (t[0] === null ? null : parseKingdeeDateTime(t[0], ctx.utcOffsetMinutes)!.sortKey);

  const limit = pageSizeOf(spec, opts);
  const fieldKeys = spec.columns.map((c) => c.key).join(',');
  const order = keys.map((k) => `${k} ASC`).join(',');
  for (;;) {
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const rows = await ctx.client.executeBillQuery(
      { FormId: spec.formId, FieldKeys: fieldKeys, FilterString: and(spec.filter, after ? keysetFilter(keys, after) : ''), OrderString: order, TopRowCount: 0, StartRow: 0, Limit: limit },
      { signal: opts?.signal },
    );
    if (rows.length > limit) throw badResponse(ctx, spec, `ExecuteBillQuery returned ${rows.length} rows for Limit ${limit}`);
    const records: SourceRecord[] = [];
    // The position's sort key, parsed once per page (then carried along from row to row).
    let afterSort = after ? sortOf(after) : null;
    for (let i = 0; i < rows.length; i++) {
      const row = toObject(spec, rows[i]);
      const rawTime = row[spec.cursorColumn];
      const time = rawTime === null || rawTime === undefined || rawTime === '' ? null : parseKingdeeDateTime(rawTime, ctx.utcOffsetMinutes);
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
      after = key;
      afterSort = keySort;
      const externalId = spec.externalId(row);
      if (!externalId) throw badResponse(ctx, spec, `row ${i} (${describeTuple(keys, key)}) has no external id`);
      records.push({ externalId, version: time ? time.iso : null, updatedAt: time ? time.iso : null, payload: row });
    }
    const hasMore = rows.length === limit;
    yield { records, cursor: encode(after), hasMore };
    if (!hasMore) return;
  }
}

function addQuantities(a: number, b: number): number {
  return Math.round((a + b) * 1e9) / 1e9;
}

/** Whether two pages hold the same values (a server that ignores StartRow); cells compare as their JSON does. */
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
  let startRow = 0;
  if (cursor) {
    const c = parseCursor(ctx, spec, cursor) as unknown as SnapshotCursor;
    if (!Number.isInteger(c.startRow) || c.startRow < 0) throw misconfigured(ctx, spec, `the stored cursor position ${JSON.stringify(c.startRow)} is malformed; reset the stream's sync state`);
    startRow = c.startRow;
  }
  const limit = pageSizeOf(spec, opts);
  const fieldKeys = spec.columns.map((c) => c.key).join(',');
  const order = [...spec.groupColumns, spec.idColumn].map((n) => `${keyOf(spec, n)} ASC`).join(',');
  const groupKey = (row: Record<string, unknown>) => spec.groupColumns.map((n) => String(row[n] ?? '')).join('|');
  const seen = new Set<string>();
  let next = startRow; // StartRow of the next request
  let delivered = startRow; // rows of groups already emitted
  let held: Record<string, unknown>[] = []; // rows of a group that may continue on the next page
  let previousPage: unknown[][] = [];

  for (;;) {
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const rows = await ctx.client.executeBillQuery(
      { FormId: spec.formId, FieldKeys: fieldKeys, FilterString: spec.filter, OrderString: order, TopRowCount: 0, StartRow: next, Limit: limit },
      { signal: opts?.signal },
    );
    if (rows.length > limit) throw badResponse(ctx, spec, `ExecuteBillQuery returned ${rows.length} rows for Limit ${limit}`);
    if (rows.length > 0 && samePage(rows, previousPage)) {
      throw badResponse(ctx, spec, `the page at StartRow ${next} repeats the previous page: the server ignored StartRow; stopped so nothing is counted twice`);
    }
    previousPage = rows;
    next += rows.length;
    const last = rows.length < limit;

    const groups: Record<string, unknown>[][] = [];
    for (const row of [...held, ...rows.map((r) => toObject(spec, r))]) {
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
      delivered += g.length;
    }
    const cursorOut = last ? null : JSON.stringify({ v: 1, stream: spec.name, form: spec.formId, startRow: delivered } satisfies SnapshotCursor);
    yield { records, cursor: cursorOut, hasMore: !last };
    if (last) return;
  }
}

export function createStream(ctx: StreamContext, spec: StreamSpec): StreamDefinition {
  return {
    name: spec.name,
    entity: spec.entity,
    read: (cursor, opts) => (spec.mode === 'incremental' ? readIncremental(ctx, spec, cursor, opts) : readSnapshot(ctx, spec, cursor, opts)),
  };
}
