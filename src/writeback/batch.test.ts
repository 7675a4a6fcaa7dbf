/** The group-commit batcher of the write-back worker (no database: the batching rules alone). */
import { Batcher } from './batch';

/** A run that records its batches and answers each item doubled, failing for items < 0. */
function recorder(calls: number[][], gate?: Promise<void>) {
  return async (items: number[]) => {
    calls.push([...items]);
    await gate;
    if (items.some((i) => i < 0)) throw new Error(`bad item in ${items.join(',')}`);
    return items.map((i) => i * 2);
  };
}

describe('Batcher', () => {
  it('items added in one turn of the event loop go out in one run, each answered with its own output', async () => {
    const calls: number[][] = [];
    const b = new Batcher(recorder(calls));
    await expect(Promise.all([1, 2, 3].map((i) => b.add(i)))).resolves.toEqual([2, 4, 6]);
    expect(calls).toEqual([[1, 2, 3]]);
    expect(b.stats).toEqual({ statements: 1, items: 3 });
  });

  it('items added while the runs are in flight wait and go out together in the next run', async () => {
    const calls: number[][] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const b = new Batcher(recorder(calls, gate), { maxInFlight: 1 });
    const first = b.add(1);
    await new Promise((r) => setImmediate(r)); // the first run is in flight
    const later = [b.add(2), b.add(3)];
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([[1]]);
    open();
    await expect(Promise.all([first, ...later])).resolves.toEqual([2, 4, 6]);
    expect(calls).toEqual([[1], [2, 3]]);
  });

  it('maxBatch splits a long queue', async () => {
    const calls: number[][] = [];
    const b = new Batcher(recorder(calls), { maxBatch: 2, maxInFlight: 4 });
    await Promise.all([1, 2, 3, 4, 5].map((i) => b.add(i)));
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('a failed run is retried item by item: the bad item fails alone, the others get their own output', async () => {
    const calls: number[][] = [];
    const b = new Batcher(recorder(calls));
    const out = await Promise.allSettled([1, -1, 3].map((i) => b.add(i)));
    expect(out).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('bad item in -1') },
      { status: 'fulfilled', value: 6 },
    ]);
    expect(calls).toEqual([[1, -1, 3], [1], [-1], [3]]);
  });
});
