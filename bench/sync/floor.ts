import type { Client } from 'pg';
import { connectLikeHub, numberedPlaceholders } from '../common/db';
import { NEAR_DUPLICATE_DEVICES_SQL } from '../../src/sync/merge';
import { BackendCpu } from './instrument';
import { truncateAll } from './setup';

/**
 * The SQL floor of a sync pass: the rows the pipeline wrote, written again by plain set-based SQL
 * with nothing else. The pass's rows are copied into a schema of their own (`floor`), the tables
 * emptied, then inserted back, `pageSize` rows a transaction with `insert … select` from the copy
 * (server-side: no HTTP, parsing, hashing, mapping, merge decisions or parameters to parse; a lower
 * bound of what any pipeline writing these rows pays). Golden tables in merge order, then links
 * and audit, on one connection (merges hold one lock); the staged source records on a second one
 * at the same time, as the pipeline stages the next page while a page merges. Each device chunk
 * also runs the merge's near-duplicate statement, and the serial-variant trigger fires, as in the
 * pipeline. The copy's row counts are checked against the tables afterwards.
 */

/** Written by the merge, in the order references need (device before purchase, …), then links and audit. */
const MERGED = ['customer', 'device', 'spare_part', 'part_compatibility', 'stock', 'purchase', 'complaint', 'telemetry', 'source_link', 'audit_log'];
const STAGED = ['source_record'];

export interface FloorResult {
  ms: number;
  /** Wall time of each connection's share. */
  mergedMs: number;
  stagedMs: number;
  pgCpuMs: number | null;
  rows: Record<string, number>;
  transactions: number;
}

const connect = connectLikeHub;

async function columnsOf(c: Client, table: string): Promise<string[]> {
  const { rows } = await c.query<{ c: string }>(
    `select quote_ident(column_name) as c from information_schema.columns where table_schema = 'public' and table_name = $1 order by ordinal_position`, [table]);
  return rows.map((r) => r.c);
}

async function replay(c: Client, tables: string[], pageSize: number, rows: Record<string, number>): Promise<{ ms: number; transactions: number }> {
  const t0 = process.hrtime.bigint();
  let transactions = 0;
  for (const table of tables) {
    const cols = (await columnsOf(c, table)).join(', ');
    for (let first = 1; first <= rows[table]; first += pageSize) {
      const last = first + pageSize - 1;
      await c.query('begin');
      await c.query(`insert into public.${table} (${cols}) select ${cols} from floor.${table} where floor_n between $1 and $2`, [first, last]);
      if (table === 'device') {
        const created = (await c.query(`select id::text as id, serial from floor.device where floor_n between $1 and $2`, [first, last])).rows;
        await c.query(numberedPlaceholders(NEAR_DUPLICATE_DEVICES_SQL), [JSON.stringify(created), 'floor', 'floor']);
      }
      await c.query('commit');
      transactions++;
    }
  }
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, transactions };
}

export async function sqlFloorPass(url: string, pageSize: number): Promise<FloorResult> {
  const admin = await connect(url);
  const rows: Record<string, number> = {};
  try {
    await admin.query('drop schema if exists floor cascade');
    await admin.query('create schema floor');
    for (const table of [...MERGED, ...STAGED]) {
      // Physical order is insertion order here (a fresh table, nothing deleted): rows go back as they came.
      await admin.query(`create table floor.${table} as select row_number() over () as floor_n, * from public.${table}`);
      await admin.query(`create index on floor.${table} (floor_n)`);
      rows[table] = Number((await admin.query(`select count(*) as n from floor.${table}`)).rows[0].n);
    }
    await truncateAll(admin);
    await admin.query('checkpoint').catch(() => undefined); // the copy's dirty pages written before, not during, the replay (superuser only)

    const merging = await connect(url);
    const staging = await connect(url);
    const pids = [Number((await merging.query('select pg_backend_pid() as p')).rows[0].p), Number((await staging.query('select pg_backend_pid() as p')).rows[0].p)];
    const cpu = new BackendCpu(async () => pids);
    const t0 = process.hrtime.bigint();
    const cpu0 = await cpu.snapshot();
    try {
      const [merged, staged] = await Promise.all([replay(merging, MERGED, pageSize, rows), replay(staging, STAGED, pageSize, rows)]);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpuMs = cpu0 ? [...((await cpu.snapshot()) ?? [])].reduce((a, [pid, v]) => a + v - (cpu0.get(pid) ?? 0), 0) : null;
      for (const table of [...MERGED, ...STAGED]) {
        const n = Number((await admin.query(`select count(*) as n from public.${table}`)).rows[0].n);
        if (n !== rows[table]) throw new Error(`SQL floor: ${table} has ${n} rows after the replay, the pass wrote ${rows[table]}`);
      }
      return { ms, mergedMs: merged.ms, stagedMs: staged.ms, pgCpuMs: cpuMs, rows, transactions: merged.transactions + staged.transactions };
    } finally {
      await merging.end();
      await staging.end();
    }
  } finally {
    await admin.query('drop schema if exists floor cascade').catch(() => undefined);
    await admin.end();
  }
}
