/** Statements sent without waiting, on a real transaction: order kept, the first failure reported. */
import { useTestDatabase } from '../../tests/support/databases';
import { PipelinedExec } from './pipelined';
import { bulkExecutor } from './sql';

const db = useTestDatabase();

function inTransaction<T>(work: (pipe: PipelinedExec) => Promise<T>): Promise<T> {
  return db.orm.em.fork().transactional(async (em) => {
    const pipe = new PipelinedExec(bulkExecutor(em));
    await pipe.query(`create temp table t (n int primary key) on commit drop`);
    return work(pipe);
  });
}

it('statements sent are executed in order, before a later query', async () => {
  const seen = await inTransaction(async (pipe) => {
    pipe.send(`insert into t values (1)`);
    pipe.send(`update t set n = n + 10`);
    pipe.send(`insert into t values (2)`);
    const rows = await pipe.query<{ n: number }>(`select n from t order by n`);
    await pipe.settle();
    return rows.map((r) => r.n);
  });
  expect(seen).toEqual([2, 11]);
});

it('a query after a failed statement reports that statement\'s error, not "transaction is aborted"', async () => {
  await expect(inTransaction(async (pipe) => {
    pipe.send(`insert into t values (1)`);
    pipe.send(`insert into t values (1)`); // duplicate key
    pipe.send(`insert into t values (3)`);
    await pipe.query(`select count(*) from t`);
  })).rejects.toThrow(/duplicate key value violates unique constraint/);
});

it('settle reports the first failure among those sent', async () => {
  await expect(inTransaction(async (pipe) => {
    pipe.send(`select 1/0`);
    pipe.send(`select 1`);
    await pipe.settle();
  })).rejects.toThrow(/division by zero/);
});

it('after a failure nothing more is sent', async () => {
  const sent: string[] = [];
  await expect(db.orm.em.fork().transactional(async (em) => {
    const exec = bulkExecutor(em);
    const pipe = new PipelinedExec((sql, params) => { sent.push(sql); return exec(sql, params); });
    pipe.send(`select 1/0`);
    pipe.send(`select 2`);
    await pipe.settle();
  })).rejects.toThrow(/division by zero/);
  expect(sent).toEqual(['select 1/0']);
});

it('one statement at a time on the connection: never a query issued while another runs', async () => {
  // node-postgres deprecates queueing a query on a busy client (gone in pg 9): the pipe waits itself.
  let running = 0;
  let most = 0;
  const n = await db.orm.em.fork().transactional(async (em) => {
    const exec = bulkExecutor(em);
    const pipe = new PipelinedExec(async (sql, params) => {
      most = Math.max(most, ++running);
      try {
        return await exec(sql, params);
      } finally {
        running--;
      }
    });
    await pipe.query(`create temp table t (n int primary key) on commit drop`);
    for (let i = 0; i < 50; i++) pipe.send(`insert into t values (?)`, [i]);
    const [row] = await pipe.query<{ n: number }>(`select count(*)::int as n from t`);
    await pipe.settle();
    return row.n;
  });
  expect(n).toBe(50);
  expect(most).toBe(1);
});
