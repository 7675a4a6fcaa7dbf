import { normalizePhone } from '../identity/normalize';
import { BadValue, CellIssue, normalizePhoneFast, parseValue, readCell, serialToDate } from './cells';
import { neutralize } from './guard';
import type { TemplateColumn } from './template';

const col = (type: TemplateColumn['type'], extra: Partial<TemplateColumn> = {}): TemplateColumn => ({ field: 'f', header: 'H', type, ...extra });
const ctx = { date1904: false };

describe('cells', () => {
  it('the phone fast path gives exactly what normalizePhone gives', () => {
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const samples: string[] = [];
    for (let i = 0; i < 5000; i++) samples.push(`1${String(rnd() % 1e10).padStart(10, '0')}`);
    for (let p = 1000000; p < 2000000; p += 997) samples.push(`${p}${String(rnd() % 10000).padStart(4, '0')}`);
    for (const s of samples) {
      expect(normalizePhoneFast(s)).toBe(normalizePhone(s));
      expect(normalizePhoneFast(`+86 ${s.slice(0, 3)}-${s.slice(3, 7)}-${s.slice(7)}`)).toBe(normalizePhone(`+86 ${s.slice(0, 3)}-${s.slice(3, 7)}-${s.slice(7)}`));
    }
    expect(normalizePhoneFast(13800138000)).toBe('+8613800138000');
    expect(normalizePhoneFast('１３８００１３８０００')).toBe('+8613800138000');
    expect(normalizePhoneFast('(0086)13800138000')).toBe('+8613800138000');
  });

  it('reads dates as Excel serials (1900 and 1904 systems) or as text', () => {
    expect(serialToDate(45292)).toBe('2024-01-01');
    expect(serialToDate(45292 - 1462, true)).toBe('2024-01-01');
    for (const v of [45292, '2024-01-01', '2024/1/1', '2024年1月1日', '20240101', 20240101, '２０２４－０１－０１', '2024-01-01 08:30']) {
      expect(parseValue(col('date'), v, ctx)).toBe('2024-01-01');
    }
    expect(parseValue(col('date'), '2024-02-30', ctx)).toBeInstanceOf(BadValue);
    expect(parseValue(col('date'), 'soon', ctx)).toBeInstanceOf(BadValue);
  });

  it('keeps serials exact and refuses one Excel rounded', () => {
    expect(parseValue(col('serial'), ' ｓｎ 001 ', ctx)).toBe('SN001');
    expect(parseValue(col('serial'), 123456, ctx)).toBe('123456');
    expect((parseValue(col('serial'), 1.23456789012346e17, ctx) as BadValue).code).toBe('NUMBER_PRECISION');
  });

  it('enumerations match values and their aliases, any width or case', () => {
    const c = col('enum', { values: ['P0', 'P1'], valueAliases: { 紧急: 'P0' } });
    expect(parseValue(c, 'ｐ１', ctx)).toBe('P1');
    expect(parseValue(c, '紧急', ctx)).toBe('P0');
    expect((parseValue(c, 'P9', ctx) as BadValue).message).toMatch(/"P9" is not one of P0, P1/);
  });

  it('formulas are read by their cached value; without one, or with an error, the cell says so', () => {
    expect(readCell({ formula: 'A1*2', result: 4 })).toBe(4);
    expect(readCell({ sharedFormula: 'A1', result: 'x' })).toBe('x');
    expect((readCell({ formula: 'NOW()' }) as CellIssue).code).toBe('NO_CACHED_VALUE');
    expect((readCell({ formula: 'A1', result: { error: '#N/A' } }) as CellIssue).code).toBe('FORMULA_ERROR');
    expect(readCell({ richText: [{ text: '王' }, { text: '五' }] })).toBe('王五');
  });

  it('text that begins like a formula is neutralized for export; numbers are not', () => {
    expect(neutralize('=HYPERLINK("http://x","y")')).toBe(`'=HYPERLINK("http://x","y")`);
    for (const s of ['+1', '-2+3', '@SUM(A1)', '\tx']) expect(neutralize(s)).toBe(`'${s}`);
    // A carriage return is written as SpreadsheetML's escape (XML would turn it into a line feed).
    expect(neutralize('\rx')).toBe(`'_x000D_x`);
    expect(neutralize('王五')).toBe('王五');
    expect(neutralize(-5)).toBe(-5);
  });

  it('the apostrophe an export puts before - + = @ is taken off in every kind of column; any other apostrophe stays', () => {
    for (const v of ['-', '-外机漏水', '=1+1', '+86', '@x']) {
      expect(parseValue(col('text'), neutralize(v) as string, ctx)).toBe(v);
    }
    const e = col('enum', { values: ['-', 'P1'] });
    expect(parseValue(e, neutralize('-') as string, ctx)).toBe('-');
    expect(parseValue(col('text'), "'quoted", ctx)).toBe("'quoted");
    expect(parseValue(col('text'), "''-", ctx)).toBe("''-");
  });

  it('date serials follow Excel: 1 = 1900-01-01, 60 (1900-02-29) does not exist, 1904 system from 0; a year is not a date', () => {
    const cases: Array<[number, string]> = [[1, '1900-01-01'], [59, '1900-02-28'], [61, '1900-03-01'], [45292, '2024-01-01']];
    for (const [n, d] of cases) {
      expect(serialToDate(n)).toBe(d);
      expect(parseValue(col('date'), n, ctx)).toBe(d);
      expect(parseValue(col('date'), String(n), ctx)).toBe(d);
    }
    expect(serialToDate(60)).toBeNull();
    expect((parseValue(col('date'), 60, ctx) as BadValue).code).toBe('INVALID_DATE');
    expect(serialToDate(0, true)).toBe('1904-01-01');
    expect(parseValue(col('date'), 0, { date1904: true })).toBe('1904-01-01');
    for (const y of [2026, '2026', 1900, 2100]) {
      const bad = parseValue(col('date'), y, ctx) as BadValue;
      expect(bad).toBeInstanceOf(BadValue);
      expect(bad).toMatchObject({ code: 'INVALID_DATE', message: expect.stringMatching(/is a year, not a date/) });
    }
    // A date cell (t="d", or what exceljs gives) before March 1900 reads as the day it is.
    expect(parseValue(col('date'), readCell(new Date(Date.UTC(1900, 0, 1))) as number, ctx)).toBe('1900-01-01');
    expect(parseValue(col('date'), readCell(new Date(Date.UTC(1900, 2, 1))) as number, ctx)).toBe('1900-03-01');
  });

  it('int columns have a range (template min/max, else 0–1200) and serials in scientific notation are refused', () => {
    for (const n of [2147483647, 99999, 1201, -1, '-3']) expect(parseValue(col('int'), n, ctx)).toMatchObject({ code: 'OUT_OF_RANGE', message: expect.stringMatching(/out of range: 0 to 1200/) });
    expect(parseValue(col('int'), 36, ctx)).toBe(36);
    expect(parseValue(col('int'), 1200, ctx)).toBe(1200);
    expect(parseValue(col('int', { min: -5, max: 5 } as Partial<TemplateColumn>), -5, ctx)).toBe(-5);
    for (const s of ['1.23457E+11', '1.23457e+11', '1E+15']) expect(parseValue(col('serial'), s, ctx)).toMatchObject({ code: 'NUMBER_PRECISION' });
    expect(parseValue(col('serial'), 'SN1E+5X', ctx)).toBe('SN1E+5X');
  });
});
