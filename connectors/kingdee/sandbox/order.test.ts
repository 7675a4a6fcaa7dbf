/**
 * The sandbox's keyed ordering and top-k window against the plain way (sort everything with
 * compileOrder's comparator, stable, then slice), and the filter's literal comparers against
 * compareValues, on generated rows full of ties, NULLs and datetimes in every accepted shape.
 */
import { mulberry32 } from '../../../src/util/prng';
import type { ColumnType } from './data';
import { compareValues, compileFilter, compileOrder, datetimeKey, datetimeOrdinal, FilterError, literalComparer } from './filter';
import { orderedWindow, topK } from './order';

type Row = Record<string, string | number | null>;
const columns: Record<string, ColumnType> = { FModifyDate: 'datetime', FID: 'number', FName: 'string', FQty: 'number' };

function generator(seed: number) {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const two = (n: number) => String(n).padStart(2, '0');
  const date = (): string => {
    const base = `2026-${two(1 + Math.floor(rnd() * 2))}-${two(1 + Math.floor(rnd() * 3))}`;
    const time = `${two(Math.floor(rnd() * 2))}:${two(Math.floor(rnd() * 3))}`;
    const sec = two(Math.floor(rnd() * 3));
    return pick([
      `${base}T${time}:${sec}`,
      `${base} ${time}:${sec}`,
      `${base}T${time}:${sec}.${pick(['1', '12', '123', '1230', '1234567', '1234568', '0000001'])}`,
      `${base}`,
      `${base} ${time}`,
      `2026-1-${1 + Math.floor(rnd() * 3)}`,
    ]);
  };
  const row = (i: number): Row => ({
    FModifyDate: rnd() < 0.1 ? null : date(),
    FID: rnd() < 0.05 ? null : Math.floor(rnd() * 20),
    FName: rnd() < 0.1 ? null : pick(['abc', 'ABC', 'Abd', 'b', '张伟', '']),
    FQty: rnd() < 0.1 ? null : pick([1, 2, '3', 'x', 2.5, -1]),
    seq: i,
  });
  return { rnd, pick, date, row };
}

function plain(rows: Row[], order: string, top: number, start: number, limit: number): Row[] {
  let out = order.trim() ? [...rows].sort(compileOrder(order, columns)) : rows;
  if (top > 0) out = out.slice(0, top);
  return out.slice(start, start + limit);
}

describe('ordered window', () => {
  const orders = ['FModifyDate ASC,FID ASC', 'FModifyDate DESC, FID', 'FName,FQty DESC', 'FQty asc,FModifyDate desc,FID', 'FID DESC', ''];

  it('gives exactly what a full stable sort and slice give, for any order and window', () => {
    const g = generator(7);
    for (let round = 0; round < 300; round++) {
      // Two rounds in three without texts in the number column (those take the comparator fallback).
      const rows = Array.from({ length: Math.floor(g.rnd() * 120) }, (_, i) => g.row(i)).map((r) => (round % 3 && r.FQty === 'x' ? { ...r, FQty: 4 } : r));
      const order = g.pick(orders);
      const top = g.pick([0, 0, 5, 50]);
      const start = g.pick([0, 0, 3, 40]);
      const limit = g.pick([1, 7, 30, 2000]);
      const got = orderedWindow(rows, order, columns, { top, start, limit });
      expect(got).toEqual(plain(rows, order, top, start, limit));
    }
  });

  it('falls back to the full comparator for datetimes outside the common shape, with the same result', () => {
    const rows: Row[] = [
      { FModifyDate: ' 2026-01-02 10:00:00', FID: 2 },
      { FModifyDate: '2026-01-02T09:00:00', FID: 1 },
      { FModifyDate: '2026-13-02T09:00:00', FID: 3 }, // month 13: datetimeKey accepts it, the ordinal does not
      { FModifyDate: null, FID: 4 },
    ];
    const w = { top: 0, start: 0, limit: 2 };
    expect(orderedWindow(rows, 'FModifyDate,FID', columns, w)).toEqual(plain(rows, 'FModifyDate,FID', 0, 0, 2));
    expect(orderedWindow(rows, 'FModifyDate,FID', columns, w).map((r) => r.FID)).toEqual([4, 1]);
  });

  it('still refuses a row whose datetime cannot be read, as the comparator does', () => {
    const rows: Row[] = [{ FModifyDate: 'yesterday', FID: 1 }, { FModifyDate: '2026-01-02', FID: 2 }];
    expect(() => orderedWindow(rows, 'FModifyDate', columns, { top: 0, start: 0, limit: 10 })).toThrow(FilterError);
  });

  it('topK keeps the k smallest in order', () => {
    const rnd = mulberry32(3);
    for (let round = 0; round < 100; round++) {
      const values = Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 30));
      const cmp = (i: number, j: number) => values[i] - values[j] || i - j;
      const k = Math.floor(rnd() * 60);
      const all = values.map((_, i) => i).sort(cmp);
      expect(topK(values.length, k, cmp)).toEqual(all.slice(0, k));
    }
  });
});

describe('datetime ordinal and literal comparers', () => {
  it('orders datetimes exactly as datetimeKey does', () => {
    const g = generator(11);
    const rest = new Float64Array(2);
    for (let i = 0; i < 2000; i++) {
      const a = g.date();
      const b = g.date();
      const ha = datetimeOrdinal(a, rest, 0);
      const hb = datetimeOrdinal(b, rest, 1);
      const fast = ha !== hb ? (ha < hb ? -1 : 1) : Math.sign(rest[0] - rest[1]);
      const ka = datetimeKey(a)!;
      const kb = datetimeKey(b)!;
      expect([a, b, fast]).toEqual([a, b, ka < kb ? -1 : ka > kb ? 1 : 0]);
    }
    expect(datetimeOrdinal('2026-01-02 ', rest, 0)).toBeNaN();
    expect(datetimeOrdinal('2026-01-02T25:00', rest, 0)).toBeNaN();
    expect(datetimeOrdinal('20260102', rest, 0)).toBeNaN();
  });

  it('compare a value with a literal as compareValues does', () => {
    const g = generator(5);
    const literals: Array<[ColumnType, string | number]> = [
      ['datetime', '2026-01-02 01:01:01.1234567'],
      ['datetime', '2026-01-02'],
      ['datetime', ' 2026-01-02 00:01'],
      ['number', 2],
      ['number', '2.5'],
      ['string', 'ABC'],
      ['string', 'b'],
    ];
    for (const [type, literal] of literals) {
      const compare = literalComparer(type, literal);
      for (let i = 0; i < 300; i++) {
        const r = g.row(i);
        const v = type === 'datetime' ? r.FModifyDate : type === 'number' ? r.FQty : r.FName;
        if (v === null) continue;
        expect([v, compare(v)]).toEqual([v, compareValues(type, v, literal)]);
      }
    }
  });

  it('a filter keeps the same rows with the literals worked out once', () => {
    const g = generator(9);
    const rows = Array.from({ length: 400 }, (_, i) => g.row(i));
    const filter = "(FModifyDate > '2026-01-02 00:01:01.123' OR (FModifyDate = '2026-01-02 00:01:01.123' AND FID > 4)) AND FName IN ('abc', 'B') AND FQty <> 2";
    const kept = rows.filter(compileFilter(filter, columns));
    const by = (r: Row) =>
      r.FModifyDate !== null &&
      r.FName !== null &&
      r.FQty !== null &&
      (compareValues('datetime', r.FModifyDate, '2026-01-02 00:01:01.123') > 0 ||
        (compareValues('datetime', r.FModifyDate, '2026-01-02 00:01:01.123') === 0 && r.FID !== null && Number(r.FID) > 4)) &&
      ['abc', 'b'].includes(String(r.FName).toLowerCase()) &&
      compareValues('number', r.FQty, 2) !== 0;
    expect(kept.length).toBeGreaterThan(0);
    expect(kept).toEqual(rows.filter(by));
  });
});
