/**
 * The hand-written datetime parsing against the regex and Date way it replaced, on generated
 * values of every shape, valid or not, and ISO formatting against toISOString.
 */
import { mulberry32 } from '../../src/util/prng';
import { isoOf, parseKingdeeDateTime } from './datetime';

/** The former implementation, kept as the reference. */
function reference(value: unknown, utcOffsetMinutes: number) {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(v);
  if (m) {
    const frac = m[7] ?? '';
    const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], Number((frac + '000').slice(0, 3))) - utcOffsetMinutes * 60_000;
    if (Number.isNaN(ms)) return undefined;
    const base = `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}`;
    return { literal: frac ? `${base}.${frac}` : base, sortKey: `${base}.${frac.padEnd(7, '0')}`, iso: new Date(ms).toISOString() };
  }
  const d = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(v);
  if (d) return parseKingdeeDateTime(value, utcOffsetMinutes); // that branch is unchanged
  return undefined;
}

describe('parseKingdeeDateTime', () => {
  it('gives what the regex and Date did, for values of every shape', () => {
    const rnd = mulberry32(5);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    const num = (max: number, width: number) => String(Math.floor(rnd() * max)).padStart(width, '0');
    const values: unknown[] = [null, undefined, 42, '', ' ', '2026-02-18', '2026-02-18T10:12', '/Date(1771380753123+0800)/', '2026-02-18T10:12:33.', '２026-02-18T10:12:33'];
    for (let i = 0; i < 20_000; i++) {
      const odd = rnd() < 0.2; // now and then a piece of another shape
      const date = `${pick([num(10000, 4), '2026', '0001', '0099', '9999', odd ? num(100, 3) : '2025'])}-${pick([num(20, 2), '02', '12', odd ? '1' : '06'])}-${pick([num(40, 2), '29', '31', '00'])}`;
      const time = `${num(30, 2)}:${pick([num(70, 2), '59', odd ? '7' : '00'])}:${pick([num(70, 2), '00', odd ? 'x0' : '59'])}`;
      const frac = pick(['', '', `.${num(10 ** 7, 1 + Math.floor(rnd() * (odd ? 8 : 7)))}`, '.1', '.0000001', odd ? '.a' : '.5']);
      const around = odd ? pick(['\t', 'Z', '\n', ' ']) : '';
      values.push(`${around}${date}${pick(['T', ' ', odd ? pick(['t', '  ', '_']) : 'T'])}${time}${frac}${around}`);
    }
    for (const offset of [480, 0, -300, 330]) {
      const differ = values.filter((v) => JSON.stringify(parseKingdeeDateTime(v, offset)) !== JSON.stringify(reference(v, offset)));
      expect({ offset, differ }).toEqual({ offset, differ: [] });
    }
    expect(values.filter((v) => parseKingdeeDateTime(v, 480)).length).toBeGreaterThan(5000);
  });

  it('formats instants as toISOString does, and throws where it throws', () => {
    const rnd = mulberry32(6);
    const instants = Array.from({ length: 100_000 }, (_, i) => Math.floor((rnd() * 2 - 1) * 2.6e14) + (i % 3 ? 0 : Math.floor(rnd() * 1000)));
    expect(instants.filter((ms) => isoOf(ms) !== new Date(ms).toISOString())).toEqual([]);
    for (const ms of [0, -1, 253402300799999, 253402300800000, -62135596800000, -62135596800001, 8.64e15]) expect(isoOf(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoOf(NaN)).toThrow(RangeError);
    expect(() => isoOf(-Infinity)).toThrow(RangeError);
  });
});
