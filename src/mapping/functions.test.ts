import { addMonths, monthsBetween, parseDate, parseDateTime } from './functions';

describe('mapping helper functions', () => {
  it.each([
    ['2026-02-18', '2026-02-18'],
    ['2026-02-18T08:00:00.000+0000', '2026-02-18'],
    ['2026-02-18T00:00:00', '2026-02-18'],
    ['2026/2/18', '2026-02-18'],
    ['2026年2月18日', '2026-02-18'],
    ['/Date(1771372800000+0800)/', '2026-02-18'],
    [46071, '2026-02-18'],
    ['46071', '2026-02-18'],
    ['2026-02-30', null],
    ['', null],
    ['soon', null],
  ])('parseDate(%p) = %p', (input, expected) => {
    expect(parseDate(input)).toBe(expected);
  });

  it('reads timestamps with and without zones (zoneless = China time)', () => {
    expect(parseDateTime('2026-02-18T08:00:00.000+0000')).toBe('2026-02-18T08:00:00.000Z');
    expect(parseDateTime('2026-02-18T08:00:00')).toBe('2026-02-18T00:00:00.000Z');
    expect(parseDateTime(1771372800000)).toBe('2026-02-18T00:00:00.000Z');
    expect(parseDateTime('2026-02-18T08:00:00+08:00')).toBe('2026-02-18T00:00:00.000Z');
    expect(parseDateTime(null)).toBeNull();
  });

  it('adds months clamping to the end of month', () => {
    expect(addMonths('2026-01-31', 1)).toBe('2026-02-28');
    expect(addMonths('2024-02-29', 12)).toBe('2025-02-28');
    expect(addMonths('2026-02-18', 36)).toBe('2029-02-18');
    expect(addMonths('2026-02-18', -2)).toBe('2025-12-18');
    expect(addMonths('bad', 1)).toBeNull();
  });

  it('counts whole months between dates', () => {
    expect(monthsBetween('2026-01-15', '2026-03-14')).toBe(1);
    expect(monthsBetween('2026-01-15', '2026-03-15')).toBe(2);
    expect(monthsBetween('2026-03-15', '2026-01-15')).toBe(-2);
    expect(monthsBetween('2026-01-15', null)).toBeNull();
  });
});
