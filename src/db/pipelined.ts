import type { Exec } from './sql';

/**
 * Statements of one transaction sent without waiting for their answers when nothing needs them
 * (`send`): the JavaScript that builds the next statement then runs while PostgreSQL executes
 * them, instead of PostgreSQL waiting for it. The pipe keeps them in order itself (each statement
 * goes out as soon as the one before has answered; node-postgres deprecates queueing queries on
 * a busy client). `query` is for a statement whose answer is needed; `settle` waits for
 * everything sent. After a failure nothing more is sent (the transaction is aborted anyway) and
 * every later statement, `query` and `settle` report that first failure, not "current
 * transaction is aborted".
 */
export class PipelinedExec {
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;

  constructor(private readonly exec: Exec) {}

  send(sql: string, params: unknown[] = []): void {
    this.enqueue(sql, params).catch(() => undefined); // reported by settle() or the next query
  }

  readonly query: Exec = <T>(sql: string, params: unknown[] = []): Promise<T[]> => this.enqueue<T>(sql, params);

  /** Waits for every statement sent; throws the first failure, if one failed. */
  async settle(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure.error;
  }

  private enqueue<T>(sql: string, params: unknown[]): Promise<T[]> {
    const answer = this.tail.then(() => {
      if (this.failure) throw this.failure.error;
      return this.exec<T>(sql, params);
    });
    this.tail = answer.then(() => undefined, (error: unknown) => { this.failure ??= { error }; });
    return answer;
  }
}
