/**
 * Group commit for the write-back worker's statements. Jobs running at the same time hand their
 * pick (or their outcome) to a batcher, which sends one statement for all of them: every item
 * added during one turn of the event loop, or while the previous statements are in flight, goes
 * into the next one. Each job still awaits its own statement's commit before it returns (and so
 * before BullMQ acknowledges it), and gets its own row back.
 *
 * Why: each statement is a loopback write and a wake-up of a PostgreSQL backend; per job that cost
 * more CPU than the job's own work (bench/README.md, Write-back). Idle, an item waits one
 * setImmediate, not a timer.
 *
 * A statement that fails fails for the whole batch and commits nothing: its items are then sent
 * one by one, so one job's bad value (or a deadlock) never becomes another job's outcome.
 */
export interface BatcherOptions {
  /** Statements of this kind in flight at once (default 2): more = less waiting, fewer = bigger batches. */
  maxInFlight?: number;
  /** Items per statement (default 500). */
  maxBatch?: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class Batcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  /** Statements sent and items in them (figures for tests and the benchmark). */
  readonly stats = { statements: 0, items: 0 };

  /** `run` gets the items of one batch and answers one output per item, in the same order. */
  constructor(private readonly run: (items: I[]) => Promise<O[]>, opts: BatcherOptions = {}) {
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 2);
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || !this.queue.length || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    // After the current I/O callbacks: the other jobs finishing in this turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length && this.inFlight < this.maxInFlight) {
        const batch = this.queue.splice(0, this.maxBatch);
        this.inFlight++;
        void this.send(batch).finally(() => {
          this.inFlight--;
          this.schedule();
        });
      }
    });
  }

  private async send(batch: Pending<I, O>[]): Promise<void> {
    this.stats.statements++;
    this.stats.items += batch.length;
    let out: O[];
    try {
      out = await this.run(batch.map((p) => p.item));
    } catch (e) {
      if (batch.length === 1) {
        batch[0].reject(e);
        return;
      }
      await Promise.all(batch.map((p) => this.send([p])));
      return;
    }
    batch.forEach((p, i) => p.resolve(out[i]));
  }
}
