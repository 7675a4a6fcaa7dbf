import { Client } from 'pg';
import {
  AGENTS, BLOCKING, BUSINESSES, CHANNELS, ENGINEERS, FAULTS, GIVEN, MODELS, REGIONS, SURNAMES, WAREHOUSES,
  buildParts, phoneShift,
} from './seed-data';
import { SEED_VERSION, writeMarker } from './db';

export interface SeedReport {
  totalMs: number;
  steps: { step: string; ms: number; rows: number }[];
  counts: Record<string, number>;
}

/**
 * Fills the migrated benchmark database with set-based SQL (INSERT ... SELECT over
 * generate_series): every pseudo-random choice is hashint8extended(row key, salt), so the same
 * seed gives the same data. Foreign keys and the append-only trigger are not checked while
 * seeding (session_replication_role = replica): the generator keeps the references consistent,
 * and the row counts are checked at the end.
 */
export async function seed(c: Client, customers: number, seedValue: number, log: (line: string) => void): Promise<SeedReport> {
  const started = Date.now();
  const steps: SeedReport['steps'] = [];
  const s = seedValue * 1000; // salt base; each column adds its own offset
  const step = async (name: string, sql: string, params: unknown[] = []): Promise<void> => {
    const t0 = Date.now();
    const res = await c.query(sql, params);
    const ms = Date.now() - t0;
    steps.push({ step: name, ms, rows: res.rowCount ?? 0 });
    log(`  ${name.padEnd(22)} ${String(res.rowCount ?? 0).padStart(9)} rows  ${(ms / 1000).toFixed(1).padStart(6)} s`);
  };

  await c.query(`SET session_replication_role = replica`);
  await c.query(`SET synchronous_commit = off`);
  await c.query(`SET maintenance_work_mem = '256MB'`);
  await c.query(`SET work_mem = '64MB'`);
  // One transaction: now() is the same instant in every statement, and a failed seed leaves nothing.
  await c.query('BEGIN');
  await c.query(`CREATE OR REPLACE FUNCTION bench_h(i bigint, salt bigint, n int) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ((hashint8extended(i, salt) & 9223372036854775807) % n)::int $$`);

  // Per customer: how many devices and tickets, and where their ids start.
  await step('plan', `CREATE TEMP TABLE plan AS
    SELECT i AS cust, heavy, shop, dev_n, tkt_n,
           (sum(dev_n) OVER w - dev_n)::bigint AS dev_off,
           (sum(tkt_n) OVER w - tkt_n)::bigint AS tkt_off
    FROM (
      SELECT i, i % 5000 = 1 AS heavy, i % 100 = 50 AS shop,
        CASE WHEN i % 5000 = 1 THEN 50 WHEN i % 100 = 50 THEN 5 + bench_h(i, $2 + 1, 8) ELSE 1 + bench_h(i, $2 + 1, 3) END AS dev_n,
        CASE WHEN i % 5000 = 1 THEN 500 WHEN i % 100 = 50 THEN 15 + bench_h(i, $2 + 2, 26)
             ELSE 2 + bench_h(i, $2 + 2, 6) + (bench_h(i, $2 + 3, 4) = 0)::int END AS tkt_n
      FROM generate_series(1, $1::int) i
    ) x
    WINDOW w AS (ORDER BY i)`, [customers, s]);

  await step('customer', `INSERT INTO customer (id, created_at, updated_at, phone, name, tier, region, lineage)
    SELECT p.cust, x.created, x.created + make_interval(days => bench_h(p.cust, $1 + 11, 200)),
      '+86138' || lpad(((p.cust * 7919 + $2) % 100000000)::text, 8, '0'),
      CASE WHEN p.heavy THEN x.region || ($6::text[])[1 + bench_h(p.cust, $1 + 12, array_length($6::text[], 1))]
           WHEN p.shop THEN x.region || ($4::text[])[1 + bench_h(p.cust, $1 + 13, array_length($4::text[], 1))] || '记家电维修店'
           ELSE ($3::text[])[1 + bench_h(p.cust, $1 + 14, array_length($3::text[], 1))]
             || ($4::text[])[1 + bench_h(p.cust, $1 + 15, array_length($4::text[], 1))]
             || CASE WHEN bench_h(p.cust, $1 + 16, 3) > 0 THEN ($4::text[])[1 + bench_h(p.cust, $1 + 17, array_length($4::text[], 1))] ELSE '' END
      END,
      CASE WHEN p.heavy THEN 'PLATINUM' WHEN p.shop THEN 'GOLD'
           ELSE (ARRAY['STANDARD','STANDARD','STANDARD','STANDARD','STANDARD','STANDARD','SILVER','SILVER','SILVER','GOLD'])[1 + bench_h(p.cust, $1 + 18, 10)] END,
      x.region,
      jsonb_build_object(
        'name', jsonb_build_object('system', 'salesforce', 'stream', 'contacts', 'externalId', '003' || lpad(p.cust::text, 12, '0'), 'at', x.created),
        'tier', jsonb_build_object('system', 'salesforce', 'stream', 'accounts', 'externalId', '001' || lpad(p.cust::text, 12, '0'), 'at', x.created))
    FROM plan p
    CROSS JOIN LATERAL (SELECT now() - make_interval(days => 200 + bench_h(p.cust, $1 + 10, 2000)) AS created,
                               ($5::text[])[1 + bench_h(p.cust, $1 + 19, array_length($5::text[], 1))] AS region) x`,
  [s, phoneShift(seedValue), SURNAMES, GIVEN, REGIONS, BUSINESSES]);

  // Devices: heavy customers buy few models in batches of 10 (one order per batch).
  await step('device plan', `CREATE TEMP TABLE dev AS
    SELECT y.*, CASE WHEN y.wy IS NULL THEN NULL ELSE y.purchase_date + make_interval(years => y.wy) END::date AS warranty_end
    FROM (
      SELECT p.dev_off + k AS id, p.cust, k, p.heavy,
        1 + CASE WHEN p.heavy THEN bench_h(p.cust * 8 + k % 4, $1 + 20, 120) ELSE bench_h(p.dev_off + k, $1 + 20, 120) END AS mi,
        (current_date - CASE WHEN p.heavy THEN bench_h(p.cust * 100 + (k - 1) / 10, $1 + 21, 1800)
                             ELSE bench_h(p.dev_off + k, $1 + 21, 1800) END)::date AS purchase_date,
        CASE WHEN bench_h(p.dev_off + k, $1 + 22, 50) = 0 THEN NULL ELSE (ARRAY[1, 3, 6])[1 + bench_h(p.dev_off + k, $1 + 23, 3)] END AS wy
      FROM plan p CROSS JOIN LATERAL generate_series(1, p.dev_n) k
    ) y`, [s]);

  await step('device', `INSERT INTO device (id, created_at, updated_at, serial, model, firmware, purchase_date, warranty_end, owner_id, lineage)
    SELECT d.id, d.purchase_date + time '10:00', now() - make_interval(days => bench_h(d.id, $1 + 24, 90)),
      upper(substr(md5(d.id::text || ':' || $1), 1, 5)) || lpad(d.id::text, 9, '0'),
      ($2::text[])[d.mi],
      'V' || (1 + bench_h(d.id, $1 + 25, 3)) || '.' || bench_h(d.id, $1 + 26, 6) || '.' || bench_h(d.id, $1 + 27, 12),
      d.purchase_date, d.warranty_end, d.cust,
      jsonb_build_object('model', jsonb_build_object('system', 'kingdee', 'stream', 'serials', 'at', d.purchase_date),
                         'firmware', jsonb_build_object('system', 'thingsboard', 'stream', 'devices', 'at', now()))
    FROM dev d`, [s, MODELS.map((m) => m.name)]);

  await step('telemetry', `INSERT INTO telemetry (device_id, online, last_seen_at, run_count, alerts, lineage, updated_at)
    SELECT x.id, x.online,
      CASE WHEN x.online THEN now() - make_interval(secs => bench_h(x.id, $1 + 31, 300))
           ELSE now() - make_interval(mins => 10 + bench_h(x.id, $1 + 32, 43200)) END,
      (now()::date - x.purchase_date) * (1 + bench_h(x.id, $1 + 33, 6)),
      CASE WHEN x.a < 85 THEN '[]'::jsonb WHEN x.a < 95 THEN '["E1"]'::jsonb ELSE '["F3","H5"]'::jsonb END,
      jsonb_build_object('online', jsonb_build_object('system', 'thingsboard', 'stream', 'telemetry', 'at', now())),
      now()
    FROM (SELECT d.id, d.purchase_date, bench_h(d.id, $1 + 30, 100) < 70 AS online, bench_h(d.id, $1 + 34, 100) AS a FROM dev d) x`, [s]);

  await step('purchase', `INSERT INTO purchase (id, created_at, updated_at, order_number, line_no, customer_id, device_id, model, quantity, amount, currency, ordered_at, lineage)
    SELECT d.id, d.purchase_date + time '09:00', d.purchase_date + time '09:00',
      CASE WHEN d.heavy THEN 'SW' || to_char(d.purchase_date, 'YYYYMMDD') || '-' || lpad(d.cust::text, 8, '0') || lpad(((d.k - 1) / 10)::text, 2, '0')
           ELSE 'SO' || to_char(d.purchase_date, 'YYYYMMDD') || '-' || lpad(d.id::text, 9, '0') END,
      CASE WHEN d.heavy THEN (d.k - 1) % 10 + 1 ELSE 1 END,
      d.cust, d.id, ($2::text[])[d.mi], 1,
      round((($3::numeric[])[d.mi] + 100 * (bench_h(d.id, $1 + 40, 5) - 2)) * CASE WHEN d.heavy THEN 0.9 ELSE 1 END, 2),
      'CNY', d.purchase_date,
      jsonb_build_object('amount', jsonb_build_object('system', 'kingdee', 'stream', 'sales_orders', 'at', d.purchase_date))
    FROM dev d`, [s, MODELS.map((m) => m.name), MODELS.map((m) => m.price)]);

  const parts = buildParts(seedValue);
  await step('spare_part', `INSERT INTO spare_part (id, code, name) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`,
    [parts.map((p) => p.id), parts.map((p) => p.code), parts.map((p) => p.name)]);
  const fits = parts.flatMap((p) => p.fits.map(([model, prefix]) => [p.id, model, prefix] as const));
  await step('part_compatibility', `INSERT INTO part_compatibility (part_id, model, firmware_prefix) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`,
    [fits.map((f) => f[0]), fits.map((f) => f[1]), fits.map((f) => f[2])]);
  const stock = parts.flatMap((p) => p.stock.map((q, w) => [p.id, WAREHOUSES[w], q] as const));
  await step('stock', `INSERT INTO stock (part_id, warehouse, quantity) SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[])`,
    [stock.map((r) => r[0]), stock.map((r) => r[1]), stock.map((r) => r[2])]);

  // Tickets get ids in creation order (so "latest first" is the same by id and by createdAt) and
  // numbers from a per-day counter, like src/tickets/ticket-number.ts.
  // Ages are skewed towards recent: 3 years * u^2.
  await step('ticket plan', `CREATE TEMP TABLE tk AS
    SELECT p.cust, p.dev_off, p.dev_n, p.tkt_off + k AS r,
      date_trunc('second', now() - make_interval(secs => 94608000 * power(bench_h(p.tkt_off + k, $1 + 50, 1000000) / 1000000.0, 2))) AS created_at
    FROM plan p CROSS JOIN LATERAL generate_series(1, p.tkt_n) k`, [s]);

  await step('ticket', `WITH numbered AS (
      SELECT row_number() OVER (ORDER BY t.created_at, t.r) AS id,
        row_number() OVER (PARTITION BY (t.created_at AT TIME ZONE 'UTC')::date ORDER BY t.created_at, t.r) AS day_no,
        t.r, t.cust, t.created_at,
        CASE WHEN bench_h(t.r, $1 + 51, 100) < 8 THEN NULL ELSE t.dev_off + 1 + bench_h(t.r, $1 + 52, t.dev_n) END AS device_id,
        bench_h(t.r, $1 + 53, 100) AS us, bench_h(t.r, $1 + 54, 100) AS up, bench_h(t.r, $1 + 55, 1000) AS uf
      FROM tk t
    ), shaped AS (
      SELECT n.*,
        CASE WHEN n.created_at < now() - interval '30 days' THEN
          CASE WHEN n.us < 62 THEN 'CLOSED' WHEN n.us < 87 THEN 'RESOLVED' WHEN n.us < 93 THEN 'CANCELLED' WHEN n.us < 97 THEN 'PENDING' ELSE 'IN_PROGRESS' END
        ELSE
          CASE WHEN n.us < 20 THEN 'NEW' WHEN n.us < 40 THEN 'ASSIGNED' WHEN n.us < 60 THEN 'IN_PROGRESS' WHEN n.us < 70 THEN 'PENDING' WHEN n.us < 90 THEN 'RESOLVED' ELSE 'CLOSED' END
        END AS status,
        CASE WHEN n.up < 3 THEN 'P0' WHEN n.up < 15 THEN 'P1' WHEN n.up < 75 THEN 'P2' ELSE 'P3' END AS priority,
        1 + n.uf % array_length($2::text[], 1) AS fi
      FROM numbered n
    ), aged AS (
      -- A ticket cannot be resolved before its repair time has passed, nor closed within 2 days of that.
      SELECT x.id, x.day_no, x.cust, x.created_at, x.device_id, x.us, x.up, x.uf, x.priority, x.fi,
        CASE WHEN x.status IN ('RESOLVED', 'CLOSED') AND x.created_at + make_interval(hours => 2 + x.uf % 70) > now() THEN 'IN_PROGRESS'
             WHEN x.status = 'CLOSED' AND x.created_at + make_interval(hours => 50 + x.uf % 70) > now() THEN 'RESOLVED'
             ELSE x.status END AS status
      FROM shaped x
    ), timed AS (
      SELECT x.*,
        CASE WHEN x.status IN ('RESOLVED', 'CLOSED') THEN x.created_at + make_interval(hours => 2 + x.uf % 70) END AS resolved_at
      FROM aged x
    )
    INSERT INTO ticket (id, created_at, updated_at, number, customer_id, device_id, category_l1, category_l2, category_l3,
      priority, status, fault, solution, blocking_reason, eta, sla_response_due, sla_resolve_due, resolved_at, closed_at,
      derived, lineage, created_by)
    SELECT t.id, t.created_at,
      coalesce(CASE WHEN t.status = 'CLOSED' THEN t.resolved_at + interval '2 days' END, t.resolved_at, t.created_at),
      'T' || to_char(t.created_at AT TIME ZONE 'UTC', 'YYYYMMDD') || '-' || lpad(t.day_no::text, greatest(4, length(t.day_no::text)), '0'),
      t.cust, t.device_id, ($3::text[])[t.fi], ($4::text[])[t.fi], ($5::text[])[t.fi],
      t.priority, t.status, ($2::text[])[t.fi],
      CASE WHEN t.status IN ('RESOLVED', 'CLOSED') THEN ($6::text[])[t.fi] END,
      CASE WHEN t.status = 'PENDING' THEN ($7::text[])[1 + t.uf % array_length($7::text[], 1)] END,
      CASE WHEN t.status IN ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'PENDING') THEN t.created_at + interval '2 days' END,
      t.created_at + CASE t.priority WHEN 'P0' THEN interval '1 hour' WHEN 'P1' THEN interval '2 hours' ELSE interval '4 hours' END,
      t.created_at + CASE t.priority WHEN 'P0' THEN interval '24 hours' WHEN 'P1' THEN interval '48 hours' ELSE interval '72 hours' END,
      t.resolved_at,
      CASE WHEN t.status = 'CLOSED' THEN t.resolved_at + interval '2 days' END,
      jsonb_build_object('channel', ($8::text[])[1 + t.us % array_length($8::text[], 1)]),
      '{}'::jsonb,
      ($9::text[])[1 + t.up % array_length($9::text[], 1)]
    FROM timed t`,
  [s, FAULTS.map((f) => f.fault), FAULTS.map((f) => f.l1), FAULTS.map((f) => f.l2), FAULTS.map((f) => f.l3),
    FAULTS.map((f) => f.solution), BLOCKING, CHANNELS, AGENTS]);

  // The per-day counters behind ticket numbers (T<yyyymmdd>-<n>, UTC day), as the hub keeps them.
  await step('ticket_number_counter', `INSERT INTO ticket_number_counter (day, last)
    SELECT (created_at AT TIME ZONE 'UTC')::date, count(*) FROM ticket GROUP BY 1`);

  // History: CREATED, then NEW -> ASSIGNED (or an UPDATED edit while still NEW, or a cancel),
  // then ASSIGNED -> the current status when it moved further.
  await step('ticket_event', `INSERT INTO ticket_event (id, ticket_id, type, from_status, to_status, changes, note, actor, origin, at)
    SELECT (t.id - 1) * 3 + k, t.id,
      CASE WHEN k = 1 THEN 'CREATED' WHEN k = 2 AND t.status = 'NEW' THEN 'UPDATED' ELSE 'STATUS_CHANGED' END,
      CASE WHEN k = 1 THEN NULL WHEN k = 2 THEN CASE WHEN t.status = 'NEW' THEN NULL ELSE 'NEW' END ELSE 'ASSIGNED' END,
      CASE WHEN k = 1 THEN 'NEW' WHEN k = 2 THEN CASE WHEN t.status = 'NEW' THEN NULL WHEN t.status = 'CANCELLED' THEN 'CANCELLED' ELSE 'ASSIGNED' END
           ELSE t.status END,
      CASE WHEN k = 2 AND t.status = 'NEW' THEN jsonb_build_object('priority', jsonb_build_object('before', 'P2', 'after', t.priority))
           WHEN k > 1 THEN jsonb_build_object('status', jsonb_build_object('before', CASE WHEN k = 2 THEN 'NEW' ELSE 'ASSIGNED' END,
                                                                             'after', CASE WHEN k = 2 AND t.status = 'CANCELLED' THEN 'CANCELLED' WHEN k = 2 THEN 'ASSIGNED' ELSE t.status END))
           ELSE '{}'::jsonb END,
      CASE WHEN k = 3 THEN t.solution END,
      CASE WHEN k = 1 THEN coalesce(t.created_by, 'system') ELSE ($1::text[])[1 + (t.id + k) % array_length($1::text[], 1)] END,
      CASE WHEN k = 1 AND t.created_by LIKE 'sync:%' THEN 'sync:salesforce' ELSE 'graphql' END,
      CASE WHEN k = 1 THEN t.created_at WHEN k = 2 THEN least(now(), t.created_at + interval '20 minutes')
           ELSE coalesce(t.closed_at, t.resolved_at, least(now(), t.created_at + interval '3 hours')) END
    FROM ticket t CROSS JOIN generate_series(1, 3) k
    WHERE k <= CASE WHEN t.status IN ('NEW', 'ASSIGNED', 'CANCELLED') THEN 2 ELSE 3 END`, [ENGINEERS]);

  for (const table of ['customer', 'device', 'purchase', 'spare_part', 'ticket', 'ticket_event']) {
    await c.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM "${table}"), false)`);
  }
  await c.query('DROP FUNCTION bench_h(bigint, bigint, int)');
  await c.query('SET session_replication_role = origin');

  // References were not checked while loading: check them once, set-based.
  const { rows: broken } = await c.query<{ n: string }>(`SELECT
      (SELECT count(*) FROM ticket t WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = t.customer_id))
    + (SELECT count(*) FROM ticket t WHERE t.device_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM device d WHERE d.id = t.device_id AND d.owner_id = t.customer_id))
    + (SELECT count(*) FROM ticket_event e WHERE NOT EXISTS (SELECT 1 FROM ticket t WHERE t.id = e.ticket_id))
    + (SELECT count(*) FROM device d WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = d.owner_id)) AS n`);
  if (Number(broken[0].n) !== 0) throw new Error(`seed produced ${broken[0].n} dangling references`);
  await c.query('COMMIT');

  const t0 = Date.now();
  await c.query('VACUUM (ANALYZE)');
  steps.push({ step: 'vacuum analyze', ms: Date.now() - t0, rows: 0 });
  log(`  ${'vacuum analyze'.padEnd(22)} ${''.padStart(9)}       ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`);

  // Last: `--reuse` trusts only a database whose seed and statistics are complete.
  await writeMarker(c, { customers, seed: seedValue, version: SEED_VERSION });
  return { totalMs: Date.now() - started, steps, counts: await countRows(c) };
}

export async function countRows(c: Client): Promise<Record<string, number>> {
  const tables = ['customer', 'device', 'telemetry', 'purchase', 'spare_part', 'part_compatibility', 'stock', 'ticket', 'ticket_event'];
  const { rows } = await c.query<Record<string, string>>(
    `SELECT ${tables.map((t) => `(SELECT count(*) FROM "${t}") AS "${t}"`).join(', ')}`,
  );
  return Object.fromEntries(tables.map((t) => [t, Number(rows[0][t])]));
}
