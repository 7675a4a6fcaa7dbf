import { createHash } from 'crypto';
import { FileRows } from './dedupe';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

describe('FileRows', () => {
  it('tells a repeated row from another row with the same key, and remembers the first row', () => {
    const t = new FileRows(10);
    expect(t.check(hex('a'), hex('SN1'), 2)).toBeNull();
    expect(t.check(hex('b'), hex('SN2'), 3)).toBeNull();
    expect(t.check(hex('a'), hex('SN1'), 4)).toEqual({ kind: 'row', row: 2 });
    expect(t.check(hex('c'), hex('SN1'), 5)).toEqual({ kind: 'key', row: 2 });
    // Rows without a key are compared by their values only.
    expect(t.check(hex('d'), null, 6)).toBeNull();
    expect(t.check(hex('d'), null, 7)).toEqual({ kind: 'row', row: 6 });
    expect(t.check(hex('e'), null, 8)).toBeNull();
  });

  it('keeps every row when the sheet has more rows than it said (grows)', () => {
    const t = new FileRows(0);
    const n = 20_000;
    for (let i = 1; i <= n; i++) expect(t.check(hex(`v${i}`), hex(`k${i}`), i + 1)).toBeNull();
    for (let i = 1; i <= n; i += 997) expect(t.check(hex(`v${i}`), hex(`k${i}`), n + 5)).toEqual({ kind: 'row', row: i + 1 });
    expect(t.check(hex('other'), hex('k7'), n + 6)).toEqual({ kind: 'key', row: 8 });
  });

  it('holds a million rows in 16 bytes a slot, at most 70% full, when told the count', () => {
    expect(new FileRows(1_000_000).bytes).toBeLessThanOrEqual(Math.ceil(1_000_000 / 0.7) * 16);
  });
});
