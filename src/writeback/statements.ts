/**
 * The write-back worker's hot statements, each batched across the jobs at that step at the same
 * time (batch.ts): the pick of a job's row, its final outcome, an applied write with its ledger
 * entry, and RETRYING for a job that will run again. Plain pg on the worker's own pool (no ORM: its per-statement CPU bounded jobs/s).
 */
import type { Pool } from 'pg';
import { storableJson } from '../db/storable-text';
import { Batcher, BatcherOptions } from './batch';

/** States of a write that has not happened yet (an earlier one of these blocks later writes to its target). */
export const OPEN_STATES = ['PENDING', 'QUEUED', 'RETRYING'];

export interface OutboxJobRow {
  id: string;
  /** null for writes not tied to a ticket (an Excel push: see origin). */
  ticket_id: string | null;
  ticket_number: string | null;
  origin: string | null;
  route: string;
  connector: string;
  operation: string;
  mapping: string;
  target_key: string;
  payload: { target?: { externalId?: string; version?: string | null } } & Record<string, unknown>;
  status: string;
  blocker: string | null;
  newer: string | null;
  /** A later write to the same target already past its order check and still open (on its way). */
  newer_open: string | null;
  ledger: boolean;
  /** No worker had picked this row before: no earlier attempt can have written it. */
  first_pick: boolean;
}

export interface OutcomeItem {
  id: string;
  status: string;
  attempts: number;
  result: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
}

export interface AppliedItem {
  id: string;
  attempts: number;
  result: Record<string, unknown>;
  key: string;
  connector: string;
  target_key: string;
  external_id: string | null;
  version: string | null;
  duplicate: boolean;
}

/**
 * Picks a batch of jobs' rows: marks them picked and answers, per row, whether any worker had
 * picked it before (read under the row lock, so of two concurrent picks only one is first), the
 * open write ahead of it on its target, the newest applied write after it, the first later write
 * already on its way (picked, still open), and its ledger entry.
 * $1 ids, $2 their idempotency keys (same order), $3 the open states.
 *
 * The pick is the durable mark that an attempt may have written, so it commits with
 * synchronous_commit on (the pool's default is off): a database crash cannot lose it once the
 * write has been sent, and the next attempt looks up its key instead of writing blind. One WAL
 * flush per batch of picks, not per job.
 *
 * A row with an open write ahead of it is only read: neither locked nor marked picked. It will not
 * write this time, and such a job may look again for days (its blocker waiting for an unreachable
 * connector): a durable UPDATE per look would be pure churn. picked_at thus means "got past the
 * order check", which the stale check of an older row relies on.
 */
const ROW_COLUMNS = ['id', 'ticket_id', 'ticket_number', 'origin', 'route', 'connector', 'operation', 'mapping', 'target_key', 'payload', 'status'].map((c) => `o.${c}`).join(', ');
const PICK_SQL = `with x as (select u.id, u.key from unnest($1::bigint[], $2::text[]) as u(id, key), (select set_config('synchronous_commit', 'on', true)) durable),
  ahead as (select o.id, (select b.id from writeback_outbox b where b.target_key = o.target_key and b.id < o.id and b.status = any($3::text[]) order by b.id desc limit 1) as blocker
              from writeback_outbox o where o.id in (select id from x)),
  locked as (select o.id, o.picked_at as before from writeback_outbox o join ahead a on a.id = o.id and a.blocker is null order by o.id for update of o),
  picked as (
    update writeback_outbox o set picked_at = coalesce(o.picked_at, clock_timestamp()) from locked l where o.id = l.id
    returning l.before is null as first_pick, ${ROW_COLUMNS})
  select p.*, null::bigint as blocker,
    (select max(a.id) from writeback_outbox a where a.target_key = p.target_key and a.id > p.id and a.status = 'APPLIED') as newer,
    (select min(c.id) from writeback_outbox c where c.target_key = p.target_key and c.id > p.id and c.status = any($3::text[]) and c.picked_at is not null) as newer_open,
    exists (select 1 from writeback_applied l join x on x.key = l.idempotency_key where x.id = p.id) as ledger
  from picked p
  union all
  select false, ${ROW_COLUMNS}, a.blocker, null, null, false
  from writeback_outbox o join ahead a on a.id = o.id and a.blocker is not null`;

/**
 * The write to the same target that waits for this row (the next open one, only ever blocked so
 * far: relayed, never picked): the worker wakes its delayed job once this row is final, so it does
 * not sit out its backoff. $open = the open states.
 */
const waiting = (open: string) => `(select case when n.picked_at is null and n.status <> 'PENDING' then n.id end from writeback_outbox n
      where n.target_key = o.target_key and n.id > o.id and n.status = any(${open}) order by n.id limit 1)`;

/** Final outcomes other than a write (stale, duplicate, dead, conflict), each row its own. */
const FINISH_SQL = `update writeback_outbox o
    set status = x.status, attempts = x.attempts, result = x.result, last_error = coalesce(x.error, o.last_error), finished_at = clock_timestamp()
   from jsonb_to_recordset($1::jsonb) as x(id bigint, status text, attempts int, result jsonb, error jsonb)
  where o.id = x.id and o.status not in ('APPLIED', 'DISCARDED')
  returning o.id, ${waiting('$2::text[]')} as waiting`;

export interface RetryingItem {
  id: string;
  attempts: number;
  error: Record<string, unknown>;
}

/** Jobs that will run again (a failed attempt, a wait): RETRYING with their own attempts and error. */
const RETRYING_SQL = `update writeback_outbox o set status = 'RETRYING', attempts = x.attempts, last_error = x.error
   from jsonb_to_recordset($1::jsonb) as x(id bigint, attempts int, error jsonb)
  where o.id = x.id and o.status in ('QUEUED', 'RETRYING', 'PENDING')`;

/** Applied writes: the rows and their ledger entries in one statement (atomic without BEGIN/COMMIT). */
const APPLIED_SQL = `with x as (select * from jsonb_to_recordset($1::jsonb) as x(id bigint, attempts int, result jsonb, key text, connector text,
                                                                   target_key text, external_id text, version text, duplicate boolean)),
  done as (update writeback_outbox o set status = 'APPLIED', attempts = x.attempts, result = x.result, finished_at = clock_timestamp() from x where o.id = x.id
           returning o.id, ${waiting('$2::text[]')} as waiting),
  ledger as (insert into writeback_applied (idempotency_key, outbox_id, connector, target_key, external_id, version, duplicate)
             select x.key, x.id, x.connector, x.target_key, x.external_id, x.version, x.duplicate from x join done on done.id = x.id
             on conflict (idempotency_key) do nothing)
  select id, waiting from done`;

export interface WritebackStatements {
  /** Marks the row picked (unless an earlier write to its target is open); null when it no longer exists. */
  pick(id: string, key: string): Promise<OutboxJobRow | null>;
  /** Records a final outcome; answers the id of the next write to the same target waiting for this one, if any. */
  finish(o: OutcomeItem): Promise<string | null>;
  /** Records an applied write and its ledger entry; answers the next write waiting for it, as finish. */
  applied(a: AppliedItem): Promise<string | null>;
  retrying(r: RetryingItem): Promise<void>;
  /** Statements sent and rows in them, per kind. */
  stats(): Record<'pick' | 'finish' | 'applied' | 'retrying', { statements: number; items: number }>;
}

export function createWritebackStatements(pool: Pool, opts: BatcherOptions = {}): WritebackStatements {
  const picks = new Batcher<{ id: string; key: string }, OutboxJobRow | null>(async (items) => {
    const { rows } = await pool.query<OutboxJobRow>(PICK_SQL, [`{${items.map((i) => i.id).join(',')}}`, `{${items.map((i) => i.key).join(',')}}`, `{${OPEN_STATES.join(',')}}`]);
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    // The same job twice in one batch (never expected): only one of them may count as the first pick.
    const seen = new Set<string>();
    return items.map((i) => {
      const r = byId.get(i.id);
      if (!r) return null;
      const first = r.first_pick && !seen.has(i.id);
      seen.add(i.id);
      return { ...r, first_pick: first };
    });
  }, opts);
  // Results and errors carry what vendors answered: one answer PostgreSQL cannot store (U+0000, a
  // lone surrogate) would fail the statement, and with it every job batched into it.
  const waiters = (items: { id: string }[], rows: { id: string; waiting: string | null }[]) => {
    const byId = new Map(rows.map((r) => [String(r.id), r.waiting === null ? null : String(r.waiting)]));
    return items.map((i) => byId.get(i.id) ?? null);
  };
  const outcomes = new Batcher<OutcomeItem, string | null>(async (items) => {
    const { rows } = await pool.query(FINISH_SQL, [storableJson(items), `{${OPEN_STATES.join(',')}}`]);
    return waiters(items, rows);
  }, opts);
  const applied = new Batcher<AppliedItem, string | null>(async (items) => {
    const { rows } = await pool.query(APPLIED_SQL, [storableJson(items), `{${OPEN_STATES.join(',')}}`]);
    return waiters(items, rows);
  }, opts);
  const retries = new Batcher<RetryingItem, void>(async (items) => {
    await pool.query(RETRYING_SQL, [storableJson(items)]);
    return items.map(() => undefined);
  }, opts);
  return {
    pick: (id, key) => picks.add({ id, key }),
    retrying: (r) => retries.add(r),
    finish: (o) => outcomes.add(o),
    applied: (a) => applied.add(a),
    stats: () => ({ pick: { ...picks.stats }, finish: { ...outcomes.stats }, applied: { ...applied.stats }, retrying: { ...retries.stats } }),
  };
}
