/**
 * OrderString + TopRowCount/StartRow/Limit for the sandbox's ExecuteBillQuery, without sorting a
 * whole form for every page: each row's sort keys are worked out once per query (numbers and
 * datetimes into typed arrays), and when a page asks for the first k rows of many, a bounded heap
 * keeps only those k. Ties keep the rows' order in the form (as a stable sort would), so the
 * result is exactly that of sorting everything with `compileOrder`'s comparator, which is still
 * used as is whenever a datetime value is not in the common shape (and throws for a bad one) or
 * a number column holds a text that is no number.
 */
import type { ColumnType } from './data';
import { datetimeOrdinal, OrderPart, orderComparator, parseOrder } from './filter';

type Value = string | number | null | undefined;
type Row = Record<string, Value>;

/** One part's keys for n rows; `null` marks SQL NULL (sorts first ascending). */
export type PartKeys =
  | { kind: 'number'; dir: number; isNull: Uint8Array; num: Float64Array }
  | { kind: 'datetime'; dir: number; isNull: Uint8Array; hi: Float64Array; lo: Float64Array }
  | { kind: 'string'; dir: number; isNull: Uint8Array; str: string[] };

/** Keys of every row for every part, or undefined when a datetime is not in the common shape or a number is NaN. */
export function keysOf(rows: Row[], parts: OrderPart[]): PartKeys[] | undefined {
  const n = rows.length;
  const out: PartKeys[] = [];
  for (const p of parts) {
    const isNull = new Uint8Array(n);
    if (p.type === 'number') {
      const num = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = rows[i][p.name];
        if (v === null || v === undefined) isNull[i] = 1;
        else {
          num[i] = Number(v);
          // A text that is no number ties with everything, so no order is consistent: sort as before.
          if (Number.isNaN(num[i])) return undefined;
        }
      }
      out.push({ kind: 'number', dir: p.dir, isNull, num });
    } else if (p.type === 'datetime') {
      const hi = new Float64Array(n);
      const lo = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = rows[i][p.name];
        if (v === null || v === undefined) isNull[i] = 1;
        else {
          hi[i] = typeof v === 'string' ? datetimeOrdinal(v, lo, i) : NaN;
          if (Number.isNaN(hi[i])) return undefined;
        }
      }
      out.push({ kind: 'datetime', dir: p.dir, isNull, hi, lo });
    } else {
      const str: string[] = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = rows[i][p.name];
        if (v === null || v === undefined) {
          isNull[i] = 1;
          str[i] = '';
        } else str[i] = String(v).toLowerCase();
      }
      out.push({ kind: 'string', dir: p.dir, isNull, str });
    }
  }
  return out;
}

/** Compares rows i and j by their keys, then by position (stable). */
export function indexComparator(keys: PartKeys[]): (i: number, j: number) => number {
  return (i, j) => {
    for (const k of keys) {
      const xn = k.isNull[i];
      const yn = k.isNull[j];
      let d = 0;
      if (xn || yn) d = xn && yn ? 0 : xn ? -1 : 1;
      else if (k.kind === 'number') {
        const x = k.num[i];
        const y = k.num[j];
        d = x < y ? -1 : x > y ? 1 : 0;
      } else if (k.kind === 'datetime') {
        const x = k.hi[i];
        const y = k.hi[j];
        d = x < y ? -1 : x > y ? 1 : k.lo[i] < k.lo[j] ? -1 : k.lo[i] > k.lo[j] ? 1 : 0;
      } else {
        const x = k.str[i];
        const y = k.str[j];
        d = x < y ? -1 : x > y ? 1 : 0;
      }
      if (d !== 0) return d * k.dir;
    }
    return i - j;
  };
}

/** The first `k` indices of 0..n-1 in `cmp` order: a bounded max-heap, then a sort of the k kept (few of many). */
export function topK(n: number, k: number, cmp: (i: number, j: number) => number): number[] {
  if (k <= 0) return [];
  // Most of the rows wanted (a late StartRow page): sort them all; TimSort is linear on rows
  // already in order, as a form often is.
  if (k * 4 >= n) return Array.from({ length: n }, (_, i) => i).sort(cmp).slice(0, k);
  const heap = new Int32Array(k); // heap[0] is the greatest kept
  let size = 0;
  const siftUp = (at: number) => {
    const x = heap[at];
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (cmp(heap[parent], x) >= 0) break;
      heap[at] = heap[parent];
      at = parent;
    }
    heap[at] = x;
  };
  const siftDown = (at: number) => {
    const x = heap[at];
    for (;;) {
      const l = 2 * at + 1;
      if (l >= size) break;
      const r = l + 1;
      const big = r < size && cmp(heap[r], heap[l]) > 0 ? r : l;
      if (cmp(heap[big], x) <= 0) break;
      heap[at] = heap[big];
      at = big;
    }
    heap[at] = x;
  };
  for (let i = 0; i < n; i++) {
    if (size < k) {
      heap[size++] = i;
      siftUp(size - 1);
    } else if (cmp(i, heap[0]) < 0) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return Array.from(heap).sort(cmp);
}

export interface Window {
  /** Rows skipped (StartRow). */
  start: number;
  /** Rows returned at most (Limit, already capped). */
  limit: number;
  /** TopRowCount: only the first `top` rows of the ordered result count (0 = all). */
  top: number;
}

/**
 * Rows `start .. start+limit` of `rows` ordered by `orderText` (form order when empty), after
 * keeping the first `top`. Exactly what sorting everything stably and slicing gives.
 */
export function orderedWindow<R extends Row>(rows: R[], orderText: string, columns: Record<string, ColumnType>, w: Window): R[] {
  const parts = parseOrder(orderText, columns);
  const end = Math.min(w.top > 0 ? w.top : Infinity, w.start + w.limit);
  if (!parts.length) return rows.slice(0, w.top > 0 ? w.top : undefined).slice(w.start, w.start + w.limit);
  const keys = keysOf(rows, parts);
  if (!keys) {
    const sorted = [...rows].sort(orderComparator(parts));
    return sorted.slice(0, w.top > 0 ? w.top : undefined).slice(w.start, w.start + w.limit);
  }
  const first = topK(rows.length, Math.min(end, rows.length), indexComparator(keys));
  return first.slice(w.start).map((i) => rows[i]);
}
