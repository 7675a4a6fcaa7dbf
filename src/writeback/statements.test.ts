/**
 * The worker's batched statements against real PostgreSQL: one statement for many jobs, and
 * every job still gets its own row, its own first-pick answer and its own outcome.
 */
import { Pool } from 'pg';
import { bulkExecutor, sqlOne, sqlRows } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import { insertOutboxRows, OutboxRowInput } from './outbox';
import { createWritebackStatements, WritebackStatements } from './statements';
import { createWritebackPool, idempotencyKeyOf } from './worker';

const db = useTestDatabase();
let pool: Pool;
let st: WritebackStatements;
let n = 0;

function change(target: string): OutboxRowInput {
  const number = `T20261123-${String(++n).padStart(4, '0')}`;
  return {
    ticketId: String(n), ticketNumber: number, ticketVersion: 1, route: 'iot-maintenance', connector: 'iot', operation: 'maintenanceAttribute',
    mapping: 'thingsboard/maintenance', targetKey: `iot:device:${target}`, payload: { tag: number, target: { externalId: target, version: null } },
  };
}
const insert = (rows: OutboxRowInput[]) => db.orm.em.fork().transactional((em) => insertOutboxRows(bulkExecutor(em), rows));
const row = (id: string) => sqlOne<{ status: string; attempts: number; result: any; last_error: any; picked_at: string | null }>(
  db.orm, `select status, attempts, result, last_error, picked_at from writeback_outbox where id = ?`, [id]);

beforeEach(() => {
  pool = createWritebackPool(db.orm, 4);
  st = createWritebackStatements(pool);
});
afterEach(() => pool.end());

describe('write-back worker statements, batched', () => {
  it('one pick statement for the jobs picked together; each row answers its own first pick, blocker, newer write and ledger', async () => {
    const [fresh, pickedBefore, inLedger] = await insert([change('a'), change('b'), change('c')]);
    const [older, blocked] = await insert([change('d'), change('d')]);
    const [stale, newer] = await insert([change('e'), change('e')]);
    await sqlRows(db.orm, `update writeback_outbox set picked_at = now() - interval '1 minute' where id = ?`, [pickedBefore]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'APPLIED' where id = ?`, [newer]);
    await sqlRows(db.orm, `insert into writeback_applied (idempotency_key, outbox_id, connector, target_key) values (?, ?, 'iot', 'iot:device:c')`, [idempotencyKeyOf(inLedger), inLedger]);
    const ids = [fresh, pickedBefore, inLedger, blocked, stale, '999'];

    const got = await Promise.all(ids.map((id) => st.pick(id, idempotencyKeyOf(id))));
    expect(st.stats().pick).toEqual({ statements: 1, items: 6 });
    const [f, p, l, b, s, gone] = got;
    expect(f).toMatchObject({ id: fresh, first_pick: true, blocker: null, newer: null, ledger: false, status: 'PENDING', target_key: 'iot:device:a' });
    expect(f!.payload).toEqual({ tag: expect.any(String), target: { externalId: 'a', version: null } });
    expect(p).toMatchObject({ id: pickedBefore, first_pick: false, ledger: false });
    expect(l).toMatchObject({ id: inLedger, first_pick: true, ledger: true });
    expect(b).toMatchObject({ id: blocked, blocker: older, newer: null });
    expect(s).toMatchObject({ id: stale, blocker: null, newer });
    expect(gone).toBeNull();
    for (const id of [fresh, pickedBefore]) expect((await row(id))!.picked_at).not.toBeNull();
    // merely blocked: not marked picked (it does not write this time, and may look again for days)
    for (const id of [older, blocked]) expect((await row(id))!.picked_at).toBeNull();

    // picked again (a retry, a job taken again after its worker died): no longer a first pick
    expect(await st.pick(fresh, idempotencyKeyOf(fresh))).toMatchObject({ id: fresh, first_pick: false });
  });

  it('the same row twice in one batch, or in two statements at once: only one of them is the first pick', async () => {
    const [a, b] = await insert([change('f'), change('g')]);
    const twice = await Promise.all([st.pick(a, idempotencyKeyOf(a)), st.pick(a, idempotencyKeyOf(a))]);
    expect(twice.map((r) => r!.first_pick).sort()).toEqual([false, true]);
    // two batchers = two statements on two connections racing for the row: the row lock decides
    const other = createWritebackStatements(pool);
    const raced = await Promise.all([st.pick(b, idempotencyKeyOf(b)), other.pick(b, idempotencyKeyOf(b))]);
    expect(raced.map((r) => r!.first_pick).sort()).toEqual([false, true]);
  });

  it('outcomes finished together keep their own status, attempts, result and error; applied or discarded rows stay', async () => {
    const [skipped, dead, dup, applied, discarded] = await insert([change('h'), change('i'), change('j'), change('k'), change('l')]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'APPLIED', attempts = 1 where id = ?`, [applied]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'DISCARDED' where id = ?`, [discarded]);
    await Promise.all([
      st.finish({ id: skipped, status: 'SKIPPED', attempts: 1, result: { stale: true }, error: null }),
      st.finish({ id: dead, status: 'DEAD', attempts: 3, result: null, error: { code: 'CONNECTOR_UNAVAILABLE', message: '503' } }),
      st.finish({ id: dup, status: 'APPLIED', attempts: 2, result: { duplicate: true, ledger: true }, error: null }),
      st.finish({ id: applied, status: 'DEAD', attempts: 9, result: null, error: { message: 'late' } }),
      st.finish({ id: discarded, status: 'DEAD', attempts: 9, result: null, error: { message: 'late' } }),
    ]);
    expect(st.stats().finish).toEqual({ statements: 1, items: 5 });
    expect(await row(skipped)).toMatchObject({ status: 'SKIPPED', attempts: 1, result: { stale: true }, last_error: null });
    expect(await row(dead)).toMatchObject({ status: 'DEAD', attempts: 3, result: null, last_error: { code: 'CONNECTOR_UNAVAILABLE', message: '503' } });
    expect(await row(dup)).toMatchObject({ status: 'APPLIED', attempts: 2, result: { duplicate: true, ledger: true } });
    expect(await row(applied)).toMatchObject({ status: 'APPLIED', attempts: 1, last_error: null });
    expect(await row(discarded)).toMatchObject({ status: 'DISCARDED', last_error: null });
  });

  it('jobs retrying together keep their own attempts and error; a row already final stays', async () => {
    const [a, b, done] = await insert([change('p'), change('q'), change('r')]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'DEAD' where id = ?`, [done]);
    await Promise.all([
      st.retrying({ id: a, attempts: 0, error: { code: 'CONNECTOR_RATE_LIMITED', retryInMs: 1000 } }),
      st.retrying({ id: b, attempts: 2, error: { code: 'CONNECTOR_UNAVAILABLE', message: '500' } }),
      st.retrying({ id: done, attempts: 5, error: { message: 'late' } }),
    ]);
    expect(st.stats().retrying).toEqual({ statements: 1, items: 3 });
    expect(await row(a)).toMatchObject({ status: 'RETRYING', attempts: 0, last_error: { code: 'CONNECTOR_RATE_LIMITED', retryInMs: 1000 } });
    expect(await row(b)).toMatchObject({ status: 'RETRYING', attempts: 2, last_error: { code: 'CONNECTOR_UNAVAILABLE', message: '500' } });
    expect(await row(done)).toMatchObject({ status: 'DEAD', attempts: 0, last_error: null });
  });

  it('records what a vendor answered even when it holds characters PostgreSQL cannot store (U+0000, a lone surrogate), as U+FFFD', async () => {
    const [a, b, c] = await insert([change('s'), change('t'), change('u')]);
    const vendor = { externalId: 'ext', note: 'cut 😀 here: \uD83D', raw: 'a\u0000b' };
    await Promise.all([
      st.applied({ id: a, attempts: 1, result: vendor, key: idempotencyKeyOf(a), connector: 'iot', target_key: `t-${a}`, external_id: 'ext', version: null, duplicate: false }),
      st.finish({ id: b, status: 'CONFLICT', attempts: 1, result: { conflict: { current: vendor } }, error: { code: 'WRITEBACK_CONFLICT', message: 'x' } }),
      st.retrying({ id: c, attempts: 1, error: { code: 'CONNECTOR_UNAVAILABLE', message: 'upstream said \u0000' } }),
    ]);
    const stored = { externalId: 'ext', note: 'cut 😀 here: \uFFFD', raw: 'a\uFFFDb' };
    expect(await row(a)).toMatchObject({ status: 'APPLIED', result: stored });
    expect(await row(b)).toMatchObject({ status: 'CONFLICT', result: { conflict: { current: stored } } });
    expect(await row(c)).toMatchObject({ status: 'RETRYING', last_error: { message: 'upstream said \uFFFD' } });
  });

  it('applied writes together: each row and its own ledger entry; one bad entry fails alone and the others are applied', async () => {
    const [a, b, bad] = await insert([change('m'), change('n'), change('o')]);
    const item = (id: string, attempts: number, extra: object = {}) => ({
      id, attempts, result: { externalId: `ext-${id}` }, key: idempotencyKeyOf(id), connector: 'iot', target_key: `t-${id}`,
      external_id: `ext-${id}`, version: null, duplicate: attempts > 1, ...extra,
    });
    const out = await Promise.allSettled([
      st.applied(item(a, 1)),
      st.applied(item(b, 2)),
      st.applied(item(bad, 1, { connector: null as unknown as string })), // ledger.connector is NOT NULL
    ]);
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(await row(a)).toMatchObject({ status: 'APPLIED', attempts: 1, result: { externalId: `ext-${a}` } });
    expect(await row(b)).toMatchObject({ status: 'APPLIED', attempts: 2, result: { externalId: `ext-${b}` } });
    expect(await row(bad)).toMatchObject({ status: 'PENDING' }); // row and ledger commit together or not at all
    const ledger = await sqlRows<{ idempotency_key: string; outbox_id: string; target_key: string; duplicate: boolean }>(db.orm,
      `select idempotency_key, outbox_id, target_key, duplicate from writeback_applied where outbox_id = any(?::bigint[]) order by outbox_id`, [`{${a},${b},${bad}}`]);
    expect(ledger).toEqual([
      { idempotency_key: idempotencyKeyOf(a), outbox_id: a, target_key: `t-${a}`, duplicate: false },
      { idempotency_key: idempotencyKeyOf(b), outbox_id: b, target_key: `t-${b}`, duplicate: true },
    ]);
  });

  it('a final outcome or an applied write answers the next write to its target still waiting for it (relayed, never picked), and only that', async () => {
    const [a, aNext, b, bNext, c, cNext, d] = await insert([change('w'), change('w'), change('x'), change('x'), change('y'), change('y'), change('z')]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'QUEUED' where id = any(?::bigint[])`, [`{${aNext},${bNext}}`]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'RETRYING', picked_at = now() where id = ?`, [cNext]); // got past its order check before
    const got = await Promise.all([
      st.applied({ id: a, attempts: 1, result: {}, key: idempotencyKeyOf(a), connector: 'iot', target_key: 'iot:device:w', external_id: null, version: null, duplicate: false }),
      st.finish({ id: b, status: 'DEAD', attempts: 1, result: null, error: { message: 'x' } }),
      st.finish({ id: c, status: 'SKIPPED', attempts: 1, result: null, error: null }),
      st.finish({ id: d, status: 'DEAD', attempts: 1, result: null, error: { message: 'x' } }),
    ]);
    expect(got).toEqual([aNext, bNext, null, null]);
  });

  it('a pick answers the first later write to the same target already on its way (picked, still open), not one merely queued or finished', async () => {
    const [a, aLater] = await insert([change('ww'), change('ww')]);
    const [b, bQueued, bDone] = await insert([change('xx'), change('xx'), change('xx')]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'RETRYING', picked_at = now() where id = ?`, [aLater]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'QUEUED' where id = ?`, [bQueued]);
    await sqlRows(db.orm, `update writeback_outbox set status = 'DEAD', picked_at = now() where id = ?`, [bDone]);
    const [pa, pb] = await Promise.all([st.pick(a, idempotencyKeyOf(a)), st.pick(b, idempotencyKeyOf(b))]);
    expect(pa).toMatchObject({ id: a, blocker: null, newer_open: aLater });
    expect(pb).toMatchObject({ id: b, blocker: null, newer_open: null });
  });
});
