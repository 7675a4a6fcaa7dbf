/**
 * A Bloom filter over strings: `mightHave` is false only for keys never added (a true answer may
 * be wrong, about 0.1% at two million keys in the default 4 MB). The importer adds the serials and
 * phones every merged batch wrote, so the next batch is filled again inside the file's transaction
 * only for rows whose keys an earlier batch of the file may have touched.
 */
export class KeyFilter {
  private readonly bits: Int32Array;
  private readonly mask: number;

  constructor(log2Bits = 25, private readonly probes = 5) {
    this.bits = new Int32Array(1 << (log2Bits - 5));
    this.mask = (1 << log2Bits) - 1;
  }

  add(key: string): void {
    const [a, b] = hashes(key);
    for (let i = 0; i < this.probes; i++) {
      const bit = (a + Math.imul(i, b)) & this.mask;
      this.bits[bit >>> 5] |= 1 << (bit & 31);
    }
  }

  mightHave(key: string): boolean {
    const [a, b] = hashes(key);
    for (let i = 0; i < this.probes; i++) {
      const bit = (a + Math.imul(i, b)) & this.mask;
      if (!(this.bits[bit >>> 5] & (1 << (bit & 31)))) return false;
    }
    return true;
  }
}

/** Two independent 32-bit hashes (FNV-1a and a murmur-style mix) for double hashing; the second is odd. */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  return [a >>> 0, (b | 1) >>> 0];
}
