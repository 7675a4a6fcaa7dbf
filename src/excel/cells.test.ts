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
});
