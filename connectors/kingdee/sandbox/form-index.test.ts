/**
 * The sandbox's per-form index against the plain way (filter every row, sort stably, slice):
 * generated forms full of equal sort keys, NULLs and datetimes in every accepted shape, the
 * connector's own keyset filters, paging walks that must see every row once, and changes to the
 * form after the index was built (which must never be answered from the stale index).
 */
import { mulberry32 } from '../../../src/util/prng';
import { keysetFilter } from '../streams';
import type { ColumnType, SandboxForm } from './data';
import { compileFilter } from './filter';
import { formChanged, indexedWindow } from './form-index';
import { orderedWindow, Window } from './order';

type Row = SandboxForm['rows'][number];
const columns: Record<string, ColumnType> = { FModifyDate: 'datetime', FID: 'number', FEntryID: 'number', FName: 'string', FQty: 'number', FGroup: 'string' };

function generator(seed: number) {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const two = (n: number) => String(n).padStart(2, '0');
  const date = (): string => {
    const base = `2026-${two(1 + Math.floor(rnd() * 2))}-${two(1 + Math.floor(rnd() * 2))}`;
    const time = `${two(Math.floor(rnd() * 2))}:${two(Math.floor(rnd() * 2))}`;
    return pick([`${base}T${time}:00`, `${base} ${time}:00`, `${base}T${time}:00.${pick(['1', '100', '1000000'])}`, base, `${base} ${time}`]);
  };
  const row = (i: number, nulls: boolean): Row => ({
    FModifyDate: nulls && rnd() < 0.1 ? null : date(),
    FID: i,
    FEntryID: Math.floor(rnd() * 3),
    FName: rnd() < 0.1 ? null : pick(['abc', 'ABC', 'Abd', 'b', '张伟', '']),
    FQty: rnd() < 0.1 ? null : pick([1, 2, '3', 2.5, -1]),
    FGroup: pick(['SP', 'SP', 'FG']),
  });
  const form = (n: number, nulls = true): SandboxForm => ({
    formId: 'T',
    columns,
    idKey: 'FID',
    numberKey: 'FName',
    rows: Array.from({ length: n }, (_, i) => row(i, nulls)).sort(() => rnd() - 0.5),
  });
  return { rnd, pick, date, form };
}

/** What the sandbox answered before it had indexes. */
function plain(form: SandboxForm, filter: string, order: string, w: Window): Row[] {
  return orderedWindow(form.rows.filter(compileFilter(filter, form.columns)), order, form.columns, w);
}

function answer(form: SandboxForm, filter: string, order: string, w: Window): Row[] {
  return indexedWindow(form, filter, order, w) ?? plain(form, filter, order, w);
}

const tuple = (r: Row, keys: string[]) => [r[keys[0]] as string | null, ...keys.slice(1).map((k) => r[k] as number)] as [string | null, ...number[]];

/** keysetFilter's shape for any key types (the connector's own takes a datetime first, then numbers). */
function anyKeyset(keys: string[], after: (string | number | null)[]): string {
  const lit = (v: string | number | null) => (typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : String(v));
  const level = (i: number): string => {
    const [k, v] = [keys[i], after[i]];
    if (i === keys.length - 1) return `${k} > ${lit(v)}`;
    if (v === null) return `((${k} IS NULL AND ${level(i + 1)}) OR ${k} IS NOT NULL)`;
    return `(${k} > ${lit(v)} OR (${k} = ${lit(v)} AND ${level(i + 1)}))`;
  };
  return level(0);
}

describe('form index', () => {
  const orders = [
    ['FModifyDate', 'FID'],
    ['FModifyDate', 'FEntryID', 'FID'],
    ['FModifyDate', 'FEntryID'], // not unique: equal keys
    ['FName', 'FID'],
    ['FQty', 'FID'],
  ];
  const admin = ['', "FGroup = 'SP'", "FName LIKE 'a%'", 'FQty >= 2', "FName IS NOT NULL AND FGroup IN ('sp', 'x')", "NOT FGroup = 'FG'"];

  it('answers exactly as filtering, sorting and slicing every row, with keyset filters after any position', () => {
    const g = generator(11);
    let indexed = 0;
    for (let round = 0; round < 600; round++) {
      const form = g.form(Math.floor(g.rnd() * 150));
      const keys = g.pick(orders);
      const row = form.rows.length ? g.pick(form.rows) : undefined;
      let keyset = '';
      if (keys[0] === 'FModifyDate') {
        const after = g.rnd() < 0.2 || !row ? [g.rnd() < 0.5 ? null : g.date(), ...keys.slice(1).map(() => Math.floor(g.rnd() * 150))] : tuple(row, keys);
        keyset = keysetFilter(keys, after as [string | null, ...number[]]);
      } else if (row) {
        keyset = anyKeyset(keys, keys.map((k, i) => (i === 0 ? row[k] : (row[k] ?? 0))));
      }
      if (g.rnd() < 0.15) keyset = '';
      // Look-alikes the index must not bisect by: two different literals, a key not first, a DESC order.
      let order = keys.map((k) => `${k} ASC`).join(',');
      const decoy = g.rnd();
      if (decoy < 0.06) keyset = `(FModifyDate > '${g.date()}' OR (FModifyDate = '${g.date()}' AND FID > ${Math.floor(g.rnd() * 150)}))`;
      else if (decoy < 0.12) keyset = `FID > ${Math.floor(g.rnd() * 150)}`;
      else if (decoy < 0.2) order = keys.map((k, i) => `${k} ${i === 0 ? 'DESC' : 'ASC'}`).join(',');
      const a = g.pick(admin);
      const filter = a && keyset ? `(${a}) AND (${keyset})` : a || keyset;
      const w = { top: g.pick([0, 0, 0, 20]), start: g.pick([0, 0, 0, 5, 60]), limit: g.pick([1, 7, 30, 2000]) };
      if (indexedWindow(form, filter, order, w)) indexed++;
      expect({ round, filter, order, w, rows: answer(form, filter, order, w) }).toEqual({ round, filter, order, w, rows: plain(form, filter, order, w) });
    }
    // Most of them took the index (a NULL key in a number/string order part still does).
    expect(indexed).toBeGreaterThan(250);
  });

  it('does not bisect by conditions that only look like a keyset position', () => {
    const dates = [null, '2026-01-01T00:00:00', '2026-01-02T00:00:00', '2026-01-03T00:00:00'];
    const form: SandboxForm = { formId: 'T', columns, idKey: 'FID', numberKey: 'FName', rows: [] };
    for (let i = 0; i < 40; i++) form.rows.push({ FModifyDate: dates[i % 4], FID: i, FEntryID: 0, FName: 'a', FQty: 1, FGroup: 'SP' });
    const all = { top: 0, start: 0, limit: 2000 };
    const cases: [string, string][] = [
      ["(FModifyDate > '2026-01-02' OR (FModifyDate = '2026-01-01T00:00:00' AND FID > 20))", 'FModifyDate ASC,FID ASC'],
      ['((FModifyDate IS NULL AND FID > 20) OR FModifyDate IS NULL)', 'FModifyDate ASC,FID ASC'],
      ["(FModifyDate > '2026-01-02' OR (FModifyDate = '2026-01-02' AND FID > 20))", 'FModifyDate DESC,FID ASC'],
      ["(FModifyDate > '2026-01-02' OR (FModifyDate = '2026-01-02' AND FID > 20))", 'FModifyDate ASC,FID DESC'],
      ["(FModifyDate > '2026-01-02' OR (FModifyDate = '2026-01-02' AND FID < 20))", 'FModifyDate ASC,FID ASC'],
      ["(FModifyDate > '2026-01-02' OR (FModifyDate <> '2026-01-02' AND FID > 20))", 'FModifyDate ASC,FID ASC'],
    ];
    for (const [filter, order] of cases) {
      const expected = plain(form, filter, order, all);
      expect(expected.length).toBeGreaterThan(0);
      expect({ filter, order, rows: answer(form, filter, order, all) }).toEqual({ filter, order, rows: expected });
    }
  });

  it('falls back, with the same answer or error, when a key or a filtered value could not be compared', () => {
    const g = generator(12);
    const form = g.form(60);
    form.rows[3].FQty = 'x'; // no number: FQty orders by the comparator
    expect(indexedWindow(form, '', 'FQty,FID', { top: 0, start: 0, limit: 10 })).toBeUndefined();
    expect(answer(form, '', 'FQty,FID', { top: 0, start: 0, limit: 10 })).toEqual(plain(form, '', 'FQty,FID', { top: 0, start: 0, limit: 10 }));
    formChanged(form);
    form.rows[5].FModifyDate = 'not a date'; // every datetime comparison on this column may throw
    const filter = "FModifyDate > '2026-01-01'";
    expect(indexedWindow(form, filter, 'FID', { top: 0, start: 0, limit: 1 })).toBeUndefined();
    expect(() => plain(form, filter, 'FID', { top: 0, start: 0, limit: 1 })).toThrow('日期格式错误');
    // A bad order after a filter that fails on a row: the filter's error comes first, as before.
    expect(indexedWindow(form, filter, 'FNope', { top: 0, start: 0, limit: 1 })).toBeUndefined();
    expect(() => indexedWindow(form, 'FNope = 1', 'FID', { top: 0, start: 0, limit: 1 })).toThrow('过滤条件中的字段"FNope"不存在');
  });

  it('pages by keyset through rows sharing one modify date: every row once, in order', () => {
    const g = generator(13);
    for (const size of [1, 2, 3, 7, 50]) {
      const form = g.form(120, false);
      for (const r of form.rows) r.FModifyDate = g.pick(['2026-03-01T08:00:00', '2026-03-01 08:00:00.000', '2026-03-01T08:00:00.1']);
      const keys = ['FModifyDate', 'FID'];
      const order = 'FModifyDate ASC,FID ASC';
      const seen: Row[] = [];
      let after: [string | null, ...number[]] | null = null;
      for (let page = 0; page < 200; page++) {
        const rows = answer(form, after ? keysetFilter(keys, after) : '', order, { top: 0, start: 0, limit: size });
        seen.push(...rows);
        if (rows.length < size) break;
        after = tuple(rows[rows.length - 1], keys);
      }
      expect(seen).toEqual(plain(form, '', order, { top: 0, start: 0, limit: 1000 }));
      expect(new Set(seen).size).toBe(form.rows.length);
    }
  });

  it('never answers from a stale index after the form changed', () => {
    const g = generator(14);
    const form = g.form(40, false);
    const order = 'FModifyDate ASC,FID ASC';
    const all = { top: 0, start: 0, limit: 2000 };
    const check = () => expect(indexedWindow(form, '', order, all)).toEqual(plain(form, '', order, all));
    check();
    // A row changed in place (as modify and Save do), then announced.
    const first = plain(form, '', order, all)[0];
    first.FModifyDate = '2027-01-01T00:00:00';
    formChanged(form);
    check();
    expect(indexedWindow(form, '', order, all)!.at(-1)).toBe(first);
    // Rows added or removed without a word are noticed too.
    form.rows.push({ ...first, FID: 1000, FModifyDate: '2025-01-01T00:00:00' });
    check();
    expect(indexedWindow(form, '', order, all)![0].FID).toBe(1000);
    form.rows.pop();
    check();
    form.rows = [...form.rows].reverse();
    check();
  });
});
