/**
 * Remembers which row first had a 64-bit key (the first 16 hex digits of a sha256), in typed
 * arrays: about 24 bytes a row, so a million-row file costs ~24 MB, not a Map of strings. Two
 * different keys collide with a probability of about n²/2⁶⁵ (3·10⁻⁸ for a million rows).
 */
export class FirstSeen {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private rows: Int32Array;
  private size = 0;

  constructor(capacity = 1 << 14) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.rows = new Int32Array(capacity);
  }

  /** The row that had this key before, or 0 after remembering `row` for it. */
  check(hex: string, row: number): number {
    if ((this.size + 1) * 2 > this.rows.length) this.grow();
    return this.insert(parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8, 16), 16) >>> 0, row);
  }

  private insert(hi: number, lo: number, row: number): number {
    const mask = this.rows.length - 1;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
    for (;;) {
      const r = this.rows[i];
      if (r === 0) {
        this.hi[i] = hi;
        this.lo[i] = lo;
        this.rows[i] = row;
        this.size++;
        return 0;
      }
      if (this.hi[i] === hi && this.lo[i] === lo) return r;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const { hi, lo, rows } = this;
    this.hi = new Uint32Array(rows.length * 2);
    this.lo = new Uint32Array(rows.length * 2);
    this.rows = new Int32Array(rows.length * 2);
    this.size = 0;
    for (let i = 0; i < rows.length; i++) if (rows[i] !== 0) this.insert(hi[i], lo[i], rows[i]);
  }
}
