/**
 * Yields every item of `source` after `prepare`, and starts fetching and preparing the next one
 * before handing out the current one, so the caller's work on item n (a page's transaction,
 * mostly waiting on PostgreSQL) overlaps fetching item n+1. At most one item ahead.
 *
 * Nothing here writes: the caller still handles one item at a time, in order. When the caller
 * stops (error, cancel, break), `stop()` returns true for the preparation under way, which is
 * left to settle (its result or error is dropped) before the source is closed.
 */
export async function* readAhead<T, P>(
  source: AsyncIterable<T>,
  prepare: (item: T, stopped: () => boolean) => Promise<P>,
): AsyncGenerator<P> {
  const it = source[Symbol.asyncIterator]();
  let stopped = false;
  const isStopped = () => stopped;
  const pull = async (): Promise<IteratorResult<P, undefined>> => {
    const next = await it.next();
    return next.done ? { done: true, value: undefined } : { done: false, value: await prepare(next.value, isStopped) };
  };
  let ahead = pull();
  // Its error is thrown when the caller asks for that item; if the caller stops first it is dropped.
  ahead.catch(() => undefined);
  try {
    for (;;) {
      const current = await ahead;
      if (current.done) return;
      ahead = pull();
      ahead.catch(() => undefined);
      yield current.value;
    }
  } finally {
    stopped = true;
    // An async generator cannot be closed while a next() is pending: let the read ahead settle first.
    await ahead.catch(() => undefined);
    await it.return?.(undefined);
  }
}
