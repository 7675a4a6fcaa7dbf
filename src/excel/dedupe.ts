/** What an earlier row of the file has: the same values, or the same template key with other values. */
export interface Repeat {
  kind: 'row' | 'key';
  row: number;
}

/**
 * The file's rows so far, one 16-byte entry per row in typed arrays (an open-addressing table
 * sized from the sheet's row count, at most 70% full: ~23 MB for a million rows, no strings, no
 * growth when the count was right). An entry is keyed by the 64 bits of the row's template-key
 * hash (serial, phone) when it has one, else by the 64 bits of its row hash, and keeps 32 bits of
 * the row hash to tell a repeat (same values) from another row with the same key. Two different
 * keys collide with a probability of about n²/2⁶⁵ (3·10⁻⁸ for a million rows); two different rows
 * with one key pass for the same values with 2⁻³² (both are refused either way, only the message
 * differs).
 */
export class FileRows {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private content: Uint32Array;
  /** The row number, negative for entries keyed by the row hash (rows without a key); 0 = empty. */
  private rows: Int32Array;
  private size = 0;

  constructor(expectedRows = 0) {
    const capacity = Math.max(1024, Math.ceil(expectedRows / 0.7));
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.content = new Uint32Array(capacity);
    this.rows = new Int32Array(capacity);
  }

  /**
   * The earlier row this one repeats, or null after remembering it. `rowHash` and `keyHash` are
   * hex digests (at least 16 digits); `keyHash` null when the row has no complete template key.
   */
  check(rowHash: string, keyHash: string | null, row: number): Repeat | null {
    if ((this.size + 1) > this.rows.length * 0.75) this.grow();
    const byKey = keyHash !== null;
    const k = keyHash ?? rowHash;
    const content = parseInt(rowHash.slice(0, 8), 16) >>> 0;
    const found = this.insert(parseInt(k.slice(0, 8), 16) >>> 0, parseInt(k.slice(8, 16), 16) >>> 0, content, byKey ? row : -row);
    if (found === -1) return null;
    return { kind: !byKey || this.content[found] === content ? 'row' : 'key', row: Math.abs(this.rows[found]) };
  }

  /** Inserts, or gives the slot of the entry with the same key (and kind); -1 when inserted. */
  private insert(hi: number, lo: number, content: number, row: number): number {
    const n = this.rows.length;
    let i = Math.floor(((hi ^ Math.imul(lo, 0x9e3779b1)) >>> 0) / 4294967296 * n);
    for (;;) {
      const r = this.rows[i];
      if (r === 0) {
        this.hi[i] = hi;
        this.lo[i] = lo;
        this.content[i] = content;
        this.rows[i] = row;
        this.size++;
        return -1;
      }
      if (this.hi[i] === hi && this.lo[i] === lo && (r > 0) === (row > 0)) return i;
      if (++i === n) i = 0;
    }
  }

  private grow(): void {
    const { hi, lo, content, rows } = this;
    const n = rows.length * 2;
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.content = new Uint32Array(n);
    this.rows = new Int32Array(n);
    this.size = 0;
    for (let i = 0; i < rows.length; i++) if (rows[i] !== 0) this.insert(hi[i], lo[i], content[i], rows[i]);
  }

  /** Bytes held by the table (for the bench and the tests). */
  get bytes(): number {
    return this.rows.length * 16;
  }
}
