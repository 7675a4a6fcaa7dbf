import { KeyFilter } from './key-filter';

describe('KeyFilter', () => {
  it('never forgets a key it was given', () => {
    const f = new KeyFilter(16, 4);
    const keys = Array.from({ length: 5000 }, (_, i) => `+86138${String(i).padStart(8, '0')}`);
    for (const k of keys) f.add(k);
    for (const k of keys) expect(f.mightHave(k)).toBe(true);
  });

  it('says no for most keys it was not given', () => {
    const f = new KeyFilter(20, 5);
    for (let i = 0; i < 50_000; i++) f.add(`SN${i}`);
    let yes = 0;
    for (let i = 0; i < 50_000; i++) if (f.mightHave(`XX${i}`)) yes++;
    // 50k keys in 1M bits with 5 probes: about 0.1% false positives; 2% would mean a broken hash.
    expect(yes).toBeLessThan(1000);
  });
});
