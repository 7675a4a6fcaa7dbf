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

  it('counts months by the end-of-month rule addMonths uses', () => {
    expect(monthsBetween('2026-01-31', '2026-02-28')).toBe(1); // addMonths('2026-01-31', 1) = 2026-02-28
    expect(monthsBetween('2026-01-31', '2026-02-27')).toBe(0);
    expect(monthsBetween('2024-02-29', '2025-02-28')).toBe(12);
    expect(monthsBetween('2026-03-31', '2026-02-28')).toBe(-1);
    expect(monthsBetween('2026-03-31', '2026-02-27')).toBe(-1); // a month back is 2026-02-28, not yet past it
    expect(monthsBetween('2026-03-31', '2026-01-31')).toBe(-2);
    // Whatever the day: n months on from a date is n months between them.
    for (const from of ['2026-01-28', '2026-01-29', '2026-01-30', '2026-01-31', '2024-02-29', '2025-08-31']) {
      for (const n of [-13, -1, 0, 1, 2, 13]) expect([from, n, monthsBetween(from, addMonths(from, n))]).toEqual([from, n, n]);
    }
  });

  it('gives null, not another year, for a date outside 1900-2199', () => {
    expect(addMonths('2199-12-01', 1)).toBeNull();
    expect(addMonths('1900-01-31', -1)).toBeNull();
  });
});

describe('dates written as numbers and as odd text', () => {
  it.each([
    // YYYYMMDD, as text and as a number (was read as epoch milliseconds: 1970-01-01)
    ['20260115', '2026-01-15'],
    [20260115, '2026-01-15'],
    ['20260230', null],
    [20260230, null],
    [12345678, null],
    // Epoch seconds, as text and as a number (the number was read as milliseconds: 1970-01-21)
    [1767225600, '2026-01-01'],
    ['1767225600', '2026-01-01'],
    [1767225600.5, '2026-01-01'],
    // Epoch milliseconds from 10^11 on, as text and as a number (12 digits of text were seconds)
    [1767225600000, '2026-01-01'],
    ['1767225600000', '2026-01-01'],
    ['176722560000', '1975-08-08'], // 1975-08-07T16:00Z, the 8th in China time
    [176722560000, '1975-08-08'],
    // Years outside 1900-2199 (Date.UTC read 0001 as 1901; /Date()/ gave the unpadded "1-01-01")
    ['0001-01-01', null],
    ['0099-12-31', null],
    ['1899-12-31', null],
    ['1900-01-01', '1900-01-01'],
    ['2199-12-31', '2199-12-31'],
    ['2200-01-01', null],
    ['9999-12-31', null],
    ['/Date(-62135596800000)/', null],
    ['/Date(253402214400000)/', null],
    [99999999999999, null],
    // Neither Excel days, nor YYYYMMDD, nor epoch
    [1234567, null],
    [20260115.5, null],
    [-1, null],
    [0, null],
  ])('parseDate(%p) = %p', (input, expected) => {
    expect(parseDate(input)).toBe(expected);
  });

  it('reads a number and the same digits as text alike, as dates and as instants', () => {
    for (const n of [46071, 46071.25, 20260115, 1767225600, 176722560000, 1767225600000, 1234567, 99999999999999]) {
      expect([n, parseDate(String(n)), parseDateTime(String(n))]).toEqual([n, parseDate(n), parseDateTime(n)]);
    }
  });

  it('reads YYYYMMDD as that day at midnight China time, epoch seconds as seconds', () => {
    expect(parseDateTime('20260115')).toBe('2026-01-14T16:00:00.000Z');
    expect(parseDateTime(1767225600)).toBe('2026-01-01T00:00:00.000Z');
    expect(parseDateTime('0001-01-01T00:00:00Z')).toBeNull();
    expect(parseDateTime('/Date(-62135596800000)/')).toBeNull();
  });
});
