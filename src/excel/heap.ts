import { setFlagsFromString } from 'v8';

/**
 * How far V8 lets the old generation grow past what the last full GC kept, while an import runs.
 *
 * An import's live heap is flat (~65 MB at 20k and 100k rows: modules plus the two or three
 * batches in flight), but it promotes a lot (batch data lives across the merge's round trips).
 * V8 sets the next full-GC threshold at the live size times a factor that climbs to 4 when GC is
 * cheap next to the mutator (processes with a ≥ 1 GB heap limit), so the old generation reached
 * 230–290 MB of mostly garbage before a mark-compact and peak RSS 420+ MB at 100k rows, rising
 * with the run's length. 1.5 keeps the threshold near 100 MB. `heap_growing_percent` is read at
 * every GC, so it can be set at run time for the import only (unlike --max-old-space-size, fixed
 * at start-up, which would also cap whatever else the server does).
 */
export const IMPORT_HEAP_GROWING_PERCENT = 50;

let running = 0;

/** Test seam: where the flag goes. */
export const heapFlags = { set: (flag: string): void => setFlagsFromString(flag) };

/**
 * Runs `fn` with the import's heap growing factor. The flag is process-wide: imports at once
 * (HTTP jobs) share it; the last one to end gives V8 back its own dynamic factor (0 = unset).
 */
export async function withImportHeap<T>(fn: () => Promise<T>): Promise<T> {
  if (running++ === 0) heapFlags.set(`--heap-growing-percent=${IMPORT_HEAP_GROWING_PERCENT}`);
  try {
    return await fn();
  } finally {
    if (--running === 0) heapFlags.set('--heap-growing-percent=0');
  }
}
