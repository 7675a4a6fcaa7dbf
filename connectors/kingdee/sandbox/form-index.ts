/**
 * Per-form indexes for the sandbox's ExecuteBillQuery, so that a keyset page costs about its own
 * size instead of the whole form: the sandbox runs in the same Node process as the pipeline in
 * the benchmark and the demo, and keying, filtering and sorting every row for every 2000-row page
 * was most of its CPU.
 *
 * Kept per form, built on first use and dropped whenever the form changes (`formChanged`, called
 * by the sandbox's modify and Save; a replaced or resized `rows` array is noticed too):
 * - the form's row positions sorted per OrderString (stable: ties keep form order);
 * - per datetime column, whether every value is in the common shape (then no comparison on it
 *   can fail, so a filter may be evaluated on some rows only, in any order).
 *
 * A page then is: binary search for the first row the filter's keyset condition accepts (the
 * `(A > a OR (A = a AND B > b))` conjunct the connector sends, which holds on a suffix of the
 * ordered rows), then the filter on rows from there until the page is full. The result is exactly
 * that of filtering every row, sorting stably and slicing (`orderedWindow`); whenever that cannot
 * be guaranteed (a key that is no number or no common-shape datetime, a filter that could raise
 * an error on some row) `indexedWindow` answers undefined and the caller takes that plain way.
 */
import type { ColumnType, SandboxForm } from './data';
import { compileNode, datetimeOrdinal, FilterNode, OrderPart, parseFilter, parseOrder, resolveColumn } from './filter';
import { indexComparator, keysOf, Window } from './order';

type Row = SandboxForm['rows'][number];

interface FormCache {
  rows: Row[];
  length: number;
  /** Sorted row positions per order; null when the order's keys are not all computable. */
  orders: Map<string, Int32Array | null>;
  /** Datetime column → every non-null value is a string in the common shape. */
  datetimeValid: Map<string, boolean>;
}

/** Orders kept per form at most (the connector sends one per stream). */
const MAX_ORDERS = 16;

const caches = new WeakMap<SandboxForm, FormCache>();

/** Drops what is cached for `form`: call after changing any of its rows. */
export function formChanged(form: SandboxForm): void {
  caches.delete(form);
}

function cacheOf(form: SandboxForm): FormCache {
  const c = caches.get(form);
  if (c && c.rows === form.rows && c.length === form.rows.length) return c;
  const fresh: FormCache = { rows: form.rows, length: form.rows.length, orders: new Map(), datetimeValid: new Map() };
  caches.set(form, fresh);
  return fresh;
}

const scratch = new Float64Array(1);

function isDatetime(v: unknown): boolean {
  return typeof v === 'string' && !Number.isNaN(datetimeOrdinal(v, scratch, 0));
}

function datetimeColumnValid(form: SandboxForm, cache: FormCache, name: string): boolean {
  let ok = cache.datetimeValid.get(name);
  if (ok === undefined) {
    ok = form.rows.every((r) => r[name] === null || r[name] === undefined || isDatetime(r[name]));
    cache.datetimeValid.set(name, ok);
  }
  return ok;
}

/** True when evaluating `n` on any row of the form cannot throw (comparisons on datetimes are the only ones that can). */
function cannotThrow(n: FilterNode, form: SandboxForm, cache: FormCache): boolean {
  switch (n.kind) {
    case 'and':
    case 'or':
      return cannotThrow(n.left, form, cache) && cannotThrow(n.right, form, cache);
    case 'not':
      return cannotThrow(n.expr, form, cache);
    case 'like':
    case 'null':
      return true;
    case 'cmp':
    case 'in': {
      const name = resolveColumn(form.columns, n.field)!;
      if (form.columns[name] !== 'datetime') return true;
      const literals = n.kind === 'cmp' ? [n.value] : n.values;
      return literals.every((v) => isDatetime(String(v))) && datetimeColumnValid(form, cache, name);
    }
  }
}

/** Row positions of the form in `parts` order (cached), or null when a key is not computable. */
function sortedPositions(form: SandboxForm, cache: FormCache, parts: OrderPart[]): Int32Array | null {
  const key = parts.map((p) => `${p.name}\u0001${p.dir}`).join('\u0002');
  let positions = cache.orders.get(key);
  if (positions === undefined) {
    const keys = keysOf(form.rows, parts);
    positions = keys ? Int32Array.from(Array.from({ length: form.rows.length }, (_, i) => i).sort(indexComparator(keys))) : null;
    // Keys worked out for every row: the order's datetime columns are all in the common shape.
    if (keys) for (const p of parts) if (p.type === 'datetime') cache.datetimeValid.set(p.name, true);
    if (cache.orders.size >= MAX_ORDERS) cache.orders.clear();
    cache.orders.set(key, positions);
  }
  return positions;
}

/** A literal that compares with the column's sort keys as the filter compares it (no NaN number, a common-shape datetime). */
function orderable(type: ColumnType, v: string | number): boolean {
  if (type === 'number') return !Number.isNaN(Number(v));
  if (type === 'datetime') return isDatetime(String(v));
  return true;
}

function conjuncts(n: FilterNode): FilterNode[] {
  return n.kind === 'and' ? [...conjuncts(n.left), ...conjuncts(n.right)] : [n];
}

/**
 * Whether `n` holds exactly when the row's keys on parts[i..j] (some j) come after a tuple of
 * literals, lexicographically with NULL first: `K > v`, `(K > v OR (K = v AND rest))` or
 * `((K IS NULL AND rest) OR K IS NOT NULL)`, K the i-th order part, ascending. Such a condition
 * is false then true along the ordered rows, so its first true row can be found by bisection.
 */
function isAfter(n: FilterNode, parts: OrderPart[], i: number, columns: Record<string, ColumnType>): boolean {
  const p = parts[i];
  if (!p || p.dir !== 1) return false;
  const isKey = (field: string) => resolveColumn(columns, field) === p.name;
  const greater = (c: FilterNode): c is Extract<FilterNode, { kind: 'cmp' }> => c.kind === 'cmp' && c.op === '>' && isKey(c.field) && orderable(p.type, c.value);
  if (greater(n)) return true;
  if (n.kind !== 'or') return false;
  const { left, right } = n;
  if (greater(left) && right.kind === 'and') {
    const eq = right.left;
    return eq.kind === 'cmp' && eq.op === '=' && isKey(eq.field) && eq.value === left.value && isAfter(right.right, parts, i + 1, columns);
  }
  if (left.kind === 'and' && left.left.kind === 'null' && !left.left.negate && isKey(left.left.field)) {
    return right.kind === 'null' && right.negate && isKey(right.field) && isAfter(left.right, parts, i + 1, columns);
  }
  return false;
}

/**
 * Rows `start .. start+limit` (after keeping the first `top`) of the form's rows that match
 * `filterText`, ordered by `orderText`: what `orderedWindow(rows.filter(compileFilter(...)))`
 * returns, or undefined when the index cannot guarantee that (the caller then does exactly that).
 * Throws the same FilterErrors for a bad filter or order.
 */
export function indexedWindow(form: SandboxForm, filterText: string, orderText: string, w: Window): Row[] | undefined {
  const ast = parseFilter(filterText);
  if (ast) compileNode(ast, form.columns); // an unknown field throws here, as in compileFilter
  let parts: OrderPart[];
  try {
    parts = parseOrder(orderText, form.columns);
  } catch {
    return undefined; // the plain way reports it, after any error the filter raises on a row
  }
  const cache = cacheOf(form);
  const positions = parts.length ? sortedPositions(form, cache, parts) : undefined;
  if (positions === null || (ast && !cannotThrow(ast, form, cache))) return undefined;
  const rows = form.rows;
  const n = rows.length;
  const at = positions ? (q: number) => rows[positions[q]] : (q: number) => rows[q];
  // The keyset condition is false then true along the ordered rows: bisect for its first true
  // row; from there on only the other conditions need checking.
  let others = ast ? conjuncts(ast) : [];
  let from = 0;
  const keyset = parts.length ? others.find((c) => isAfter(c, parts, 0, form.columns)) : undefined;
  if (keyset) {
    const after = compileNode(keyset, form.columns);
    let hi = n;
    while (from < hi) {
      const mid = (from + hi) >>> 1;
      if (after(at(mid))) hi = mid;
      else from = mid + 1;
    }
    others = others.filter((c) => c !== keyset);
  }
  const tests = others.map((c) => compileNode(c, form.columns));
  const end = Math.min(w.top > 0 ? w.top : Infinity, w.start + w.limit);
  const out: Row[] = [];
  if (!tests.length) {
    for (let q = from + w.start; q < Math.min(n, from + end); q++) out.push(at(q));
    return out;
  }
  let matched = 0;
  for (let q = from; q < n && matched < end; q++) {
    const row = at(q);
    if (!tests.every((t) => t(row))) continue;
    if (matched >= w.start) out.push(row);
    matched++;
  }
  return out;
}
