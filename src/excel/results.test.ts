/** The result writer holds at most one write's text: it waits for the file to take it (drain). */
import { mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { WriteStream } from 'fs';
import { LineWriter, ResultLine } from './results';

describe('LineWriter', () => {
  it('a write resolves once the stream has handed its text to the file (backpressure)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linewriter-'));
    try {
      const w = new LineWriter(join(dir, 'out.jsonl'));
      const line = (row: number): ResultLine => ({
        file: 'f.xlsx', sheet: 'S', row, status: 'IMPORTED', error: null, errors: [], values: { a: 'x'.repeat(500) }, records: [], filled: [],
      });
      const out = (w as unknown as { out: WriteStream }).out;
      for (let k = 0; k < 3; k++) {
        await w.write(Array.from({ length: 2000 }, (_, i) => line(k * 2000 + i))); // ~1 MB, far over the 16 KB high-water mark
        expect(out.writableLength).toBe(0);
      }
      await w.close();
      expect(statSync(join(dir, 'out.jsonl')).size).toBeGreaterThan(3 * 2000 * 500);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
