import type { Exec } from './sql';

/**
 * Statements of one transaction sent without waiting for their answers when nothing needs them
 * (`send`): the JavaScript that builds the next statement then runs while PostgreSQL executes
 * them, instead of PostgreSQL waiting for it. node-postgres queues a connection's queries and
 * sends each once the one before has finished, so the order is kept. `query` is for a statement
 * whose answer is needed; `settle` waits for everything sent. A failure is reported as the first
 * failing statement's error: those after it fail only with "current transaction is aborted".
 */
export class PipelinedExec {
  private pending: Promise<unknown>[] = [];

  constructor(private readonly exec: Exec) {}

  send(sql: string, params: unknown[] = []): void {
    const answer = this.exec(sql, params);
    answer.catch(() => undefined); // raised by settle(), in the order sent
    this.pending.push(answer);
  }

  readonly query: Exec = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    try {
      return await this.exec<T>(sql, params);
    } catch (e) {
      await this.settle(); // a statement sent before this one failed first: that is the cause
      throw e;
    }
  };

  /** Waits for every statement sent; throws the first one's error, if one failed. */
  async settle(): Promise<void> {
    const sent = this.pending;
    this.pending = [];
    for (const answer of sent) await answer;
  }
}
