import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { ExcelFileError } from './errors';
import { rowKey } from './row-key';

/** A row to look up or claim in excel_row. */
export interface RowRef {
  hash: string;
  row: number;
}

export interface Where {
  template: string;
  file: string;
  sheet: string;
}

interface Stored {
  row_key: string;
  template: string;
  row_hash: string;
  file_name: string;
  sheet: string;
  row_number: number;
  entity_id: string | null;
}

/** `{1,2,3}`: a bigint[] parameter (knex would spread a JS array into `?, ?, ?`). */
function bigintArray(keys: string[]): string {
  return `{${keys.join(',')}}`;
}

function collision(where: Where, r: RowRef, s: Stored): ExcelFileError {
  return new ExcelFileError('ROW_KEY_COLLISION',
    `the row's key ${s.row_key} (the first 64 bits of its row hash) is already taken by row ${s.row_number} of "${s.file_name}" (sheet "${s.sheet}", template ${s.template}) with other values; this row cannot be recorded as imported`,
    { file: where.file, sheet: where.sheet, row: r.row });
}

/**
 * The rows already in excel_row (imported before), by row hash, with what they became
 * (entity_id). One index probe per key (never a scan of excel_row); a key stored with
 * another template or hash is a ROW_KEY_COLLISION for that row, in `collisions`.
 */
export async function findImported(db: MikroORM | EntityManager, where: Where, rows: RowRef[]): Promise<{ done: Map<string, string | null>; collisions: Map<string, ExcelFileError> }> {
  const done = new Map<string, string | null>();
  const collisions = new Map<string, ExcelFileError>();
  if (!rows.length) return { done, collisions };
  const byKey = new Map(rows.map((r) => [rowKey(r.hash), r]));
  // `lateral … limit 1` keeps this an index probe per key: as a plain join (or `= any`) the
  // planner hashes or filters a scan of the whole table once it thinks that is cheaper (it did
  // at 100k stored rows: 50 scans for a 100k-row re-import).
  const found = await sqlRows<Stored>(db,
    `select e.row_key::text as row_key, e.template, e.row_hash, e.file_name, e.sheet, e.row_number, e.entity_id
       from unnest(?::bigint[]) k(key)
       cross join lateral (select * from excel_row x where x.row_key = k.key limit 1) e`, [bigintArray([...byKey.keys()])]);
  for (const s of found) {
    const r = byKey.get(s.row_key)!;
    if (s.template === where.template && s.row_hash === r.hash) done.set(r.hash, s.entity_id);
    else collisions.set(r.hash, collision(where, r, s));
  }
  return { done, collisions };
}

/**
 * Claims the rows' keys in the caller's transaction. Returns the hashes claimed now; the others
 * were claimed before (imported: UNCHANGED). A key claimed before by another hash throws
 * ROW_KEY_COLLISION naming the row.
 */
export async function claimRows(em: EntityManager, where: Where, jobId: string | null, status: 'IMPORTED' | 'CREATED', rows: RowRef[], entityType: string | null = null): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const keys = rows.map((r) => rowKey(r.hash));
  const claimed = await sqlRows<{ row_key: string }>(em,
    `insert into excel_row (row_key, template, row_hash, job_id, file_name, sheet, row_number, status, entity_type)
     select x.k, ?, x.h, ?::bigint, ?, ?, x.n, ?, ? from unnest(?::bigint[], ?::text[], ?::int[]) x(k, h, n)
     on conflict (row_key) do nothing returning row_key::text as row_key`,
    [where.template, jobId, where.file, where.sheet, status, entityType, bigintArray(keys), `{${rows.map((r) => r.hash).join(',')}}`, `{${rows.map((r) => r.row).join(',')}}`]);
  const mine = new Set(claimed.map((c) => c.row_key));
  const mineHashes = new Set<string>();
  const others: RowRef[] = [];
  rows.forEach((r, i) => (mine.has(keys[i]) ? mineHashes.add(r.hash) : others.push(r)));
  if (others.length) {
    const { collisions } = await findImported(em, where, others);
    for (const e of collisions.values()) throw e;
  }
  return mineHashes;
}

/** Gives back the claims of rows whose merge failed (they can be imported again once fixed). */
export async function releaseRows(em: EntityManager, hashes: string[]): Promise<void> {
  if (!hashes.length) return;
  await sqlRows(em, `delete from excel_row where row_key = any(?::bigint[])`, [bigintArray(hashes.map(rowKey))]);
}
