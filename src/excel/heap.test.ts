/** The import's heap setting: applied once while imports run (they may overlap), V8's own back after the last. */
import { heapFlags, IMPORT_HEAP_GROWING_PERCENT, withImportHeap } from './heap';

const on = `--heap-growing-percent=${IMPORT_HEAP_GROWING_PERCENT}`;
const off = '--heap-growing-percent=0';

describe('withImportHeap', () => {
  let calls: string[];
  let set: jest.SpyInstance;
  beforeEach(() => {
    calls = [];
    set = jest.spyOn(heapFlags, 'set').mockImplementation((f: string) => void calls.push(f));
  });
  afterEach(() => set.mockRestore());

  it('overlapping imports set the flag once and restore it when the last one ends', async () => {
    let endA!: () => void;
    const a = withImportHeap(() => new Promise<void>((resolve) => (endA = resolve)));
    const b = withImportHeap(async () => {
      expect(calls).toEqual([on]);
      return 7;
    });
    expect(await b).toBe(7);
    expect(calls).toEqual([on]); // a still runs
    endA();
    await a;
    expect(calls).toEqual([on, off]);
  });

  it('restores the flag when the import throws', async () => {
    await expect(withImportHeap(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(calls).toEqual([on, off]);
  });
});
