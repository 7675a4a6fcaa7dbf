import { mulberry32 } from '../util/prng';
import { normalizePhone, parsePhone } from './normalize';

/** normalizePhone's fast path for Chinese mobiles must answer exactly as libphonenumber does. */
describe('normalizePhone fast path vs libphonenumber', () => {
  const rand = mulberry32(20261205);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const digit = () => String(Math.floor(rand() * 10));
  const fullWidth = (s: string) => s.replace(/[0-9+-]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
  const separators = ['', '', ' ', '-', '  ', ' - ', '\u3000', '－'];

  /** A number under a prefix, written some way an ERP clerk or a customer might. */
  function written(national: string): string {
    let out = '';
    for (let i = 0; i < national.length; i++) out += (i && rand() < 0.25 ? pick(separators) : '') + national[i];
    const country = pick(['', '', '+86', '+86 ', '+86-', '+ 86', '+-86', '86', '0086 ', '+860', '++86', '8 6']);
    out = country + out;
    if (rand() < 0.1) out = pick([' ', '-', '\u3000', '+']) + out;
    if (rand() < 0.1) out += pick([' ', '-', '+', '\u3000']);
    return rand() < 0.2 ? fullWidth(out) : out;
  }

  it('agrees on every 5-digit prefix starting with 1, two numbers each', () => {
    const differences: string[] = [];
    for (let prefix = 10000; prefix <= 19999; prefix++) {
      for (let k = 0; k < 2; k++) {
        let national = String(prefix);
        const length = rand() < 0.85 ? 11 : pick([10, 12]);
        while (national.length < length) national += digit();
        const raw = written(national);
        for (const region of k ? ['CN'] : ['CN', 'US']) {
          const got = normalizePhone(raw, region);
          const want = parsePhone(raw, region);
          if (got !== want) differences.push(`${JSON.stringify(raw)} ${region}: ${got} vs ${want}`);
        }
      }
    }
    expect(differences.slice(0, 20)).toEqual([]);
  });

  it('agrees on numbers that do not start with 1', () => {
    const differences: string[] = [];
    for (let n = 0; n < 3000; n++) {
      let national = String(2 + Math.floor(rand() * 8));
      while (national.length < 11) national += digit();
      const raw = written(national);
      if (normalizePhone(raw) !== parsePhone(raw, 'CN')) differences.push(raw);
    }
    expect(differences.slice(0, 20)).toEqual([]);
  });

  it('agrees on numbers with extensions (which the fast path never takes)', () => {
    const differences: string[] = [];
    for (let n = 0; n < 2000; n++) {
      let national = pick(['1', '10', '21', '755', '0', '010', '020']);
      while (national.length < pick([10, 11, 12])) national += digit();
      let ext = '';
      while (ext.length < 1 + Math.floor(rand() * 6)) ext += digit();
      const raw = written(national) + pick([' ext ', 'x', '#', '-', ' - ', '转', ' 分机 ', '分机号：', '－']) + (rand() < 0.2 ? fullWidth(ext) : ext);
      for (const region of ['CN', 'US']) {
        if (normalizePhone(raw, region) !== parsePhone(raw, region)) differences.push(`${JSON.stringify(raw)} ${region}`);
      }
    }
    expect(differences.slice(0, 20)).toEqual([]);
    expect(normalizePhone('138 0013 8000-8001')).toBe(parsePhone('138 0013 8000-8001', 'CN'));
  });

  it('takes the fast path for the forms it covers (a valid prefix gives +86 and the digits)', () => {
    expect(normalizePhone('１３８ ００１３－８０００')).toBe('+8613800138000');
    expect(normalizePhone('+86 190-1234-5678')).toBe('+8619012345678');
    expect(normalizePhone('17406123456')).toBeNull(); // 17406 is not a mobile prefix (17400–17405 are)
    expect(normalizePhone('17405123456')).toBe('+8617405123456');
  });
});
