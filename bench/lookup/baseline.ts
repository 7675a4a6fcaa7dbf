import type { MikroORM } from '@mikro-orm/postgresql';
import { normalizePhone } from '../../src/identity/normalize';
import { OPEN_STATUSES, TicketStatus } from '../../src/tickets/ticket-enums';

const sqlList = (values: string[]): string => values.map((v) => `'${v}'`).join(', ');

/**
 * The hub's definitions (src/graph/loaders.ts, types/customer.ts, types/device.ts): resolved =
 * RESOLVED or CLOSED; resolution rate = resolved / (all but cancelled), 4 decimals; warranty
 * status by the UTC date.
 */
export const RESOLVED_STATUSES: TicketStatus[] = [TicketStatus.RESOLVED, TicketStatus.CLOSED];

export const TICKETS_FIRST = 20;

/**
 * The hand-written baseline: one statement that builds the whole lookup answer as JSON in
 * PostgreSQL (lateral joins + json_agg), using the same indexes the hub has. `?` is knex's
 * placeholder, so the text must not contain any other question mark.
 */
export const BASELINE_SQL = `
SELECT json_build_object(
  'id', c.id::text, 'phone', c.phone, 'name', c.name, 'tier', c.tier, 'region', c.region,
  'stats', json_build_object(
    'ticketCount', st.total, 'openTicketCount', st.open, 'resolvedTicketCount', st.resolved,
    'resolutionRate', CASE WHEN st.total - st.cancelled > 0 THEN round(st.resolved::numeric / (st.total - st.cancelled), 4) END),
  'devices', dv.list,
  'tickets', json_build_object(
    'totalCount', st.total,
    'pageInfo', json_build_object('hasNextPage', st.total > ${TICKETS_FIRST},
      'endCursor', rtrim(translate(encode(convert_to('c:' || tk.last_id, 'UTF8'), 'base64'), '+/', '-_'), '=')),
    'edges', tk.edges)
) AS customer
FROM customer c
CROSS JOIN LATERAL (
  SELECT count(*) AS total,
         count(*) FILTER (WHERE t.status IN (${sqlList(OPEN_STATUSES)})) AS open,
         count(*) FILTER (WHERE t.status IN (${sqlList(RESOLVED_STATUSES)})) AS resolved,
         count(*) FILTER (WHERE t.status = 'CANCELLED') AS cancelled
  FROM ticket t WHERE t.customer_id = c.id
) st
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object(
      'id', d.id::text, 'serial', d.serial, 'model', d.model, 'firmware', d.firmware,
      'purchaseDate', d.purchase_date, 'warrantyEnd', d.warranty_end,
      'warrantyStatus', CASE WHEN d.warranty_end IS NULL THEN 'UNKNOWN'
                             WHEN d.warranty_end >= (now() AT TIME ZONE 'UTC')::date THEN 'IN_WARRANTY' ELSE 'OUT_OF_WARRANTY' END,
      'telemetry', CASE WHEN tm.device_id IS NULL THEN NULL ELSE json_build_object(
        'online', tm.online, 'lastSeenAt', tm.last_seen_at, 'runCount', tm.run_count::text, 'alerts', tm.alerts) END,
      'purchases', (
        SELECT coalesce(json_agg(json_build_object(
            'orderNumber', p.order_number, 'lineNo', p.line_no, 'model', p.model, 'quantity', p.quantity,
            'amount', p.amount, 'orderedAt', p.ordered_at) ORDER BY p.ordered_at DESC NULLS LAST, p.id), '[]'::json)
        FROM purchase p WHERE p.device_id = d.id),
      'compatibleSpareParts', (
        SELECT coalesce(json_agg(json_build_object(
            'code', sp.code, 'name', sp.name, 'totalStock', sk.total, 'stock', sk.rows) ORDER BY sp.code), '[]'::json)
        FROM spare_part sp
        CROSS JOIN LATERAL (
          SELECT coalesce(sum(s.quantity), 0) AS total,
                 coalesce(json_agg(json_build_object('warehouse', s.warehouse, 'quantity', s.quantity) ORDER BY s.warehouse), '[]'::json) AS rows
          FROM stock s WHERE s.part_id = sp.id) sk
        WHERE sp.id IN (
          SELECT pc.part_id FROM part_compatibility pc
          WHERE pc.model = d.model AND starts_with(coalesce(d.firmware, ''), pc.firmware_prefix)))
    ) ORDER BY d.id), '[]'::json) AS list
  FROM device d LEFT JOIN telemetry tm ON tm.device_id = d.id
  WHERE d.owner_id = c.id
) dv
CROSS JOIN LATERAL (
  SELECT min(t.id) AS last_id,
         coalesce(json_agg(json_build_object('node', json_build_object(
           'number', t.number, 'status', t.status, 'priority', t.priority, 'fault', t.fault, 'solution', t.solution,
           'createdAt', t.created_at,
           'history', (
             SELECT coalesce(json_agg(json_build_object(
                 'type', e.type, 'fromStatus', e.from_status, 'toStatus', e.to_status, 'actor', e.actor, 'at', e.at) ORDER BY e.id), '[]'::json)
             FROM ticket_event e WHERE e.ticket_id = t.id)
         )) ORDER BY t.id DESC), '[]'::json) AS edges
  FROM (SELECT * FROM ticket WHERE customer_id = c.id ORDER BY id DESC LIMIT ${TICKETS_FIRST}) t
) tk
WHERE c.phone = ?`;

export interface LookupAnswer {
  matchedBy: string | null;
  reason: string | null;
  customer: any;
}

/** The baseline's answer to one raw identifier: normalize in JS (as the hub does), one statement. */
export async function sqlLookup(orm: MikroORM, identifier: string): Promise<LookupAnswer> {
  const phone = normalizePhone(identifier);
  if (!phone) return { matchedBy: null, reason: 'NOT_A_PHONE', customer: null };
  const rows = await orm.em.getConnection().execute<{ customer: any }[]>(BASELINE_SQL, [phone]);
  const customer = rows[0]?.customer ?? null;
  return { matchedBy: customer ? 'PHONE' : null, reason: customer ? null : 'NOT_FOUND', customer };
}

/** The baseline statement in pg's $n form, for the prepared variant. */
const PREPARED_SQL = BASELINE_SQL.replace('?', '$1');
const PREPARED_NAME = 'bench_lookup_baseline';

/**
 * For reference only: the same statement as a named prepared statement on a connection of the
 * same pool (knex's `execute` sends unnamed statements, so PostgreSQL plans the big statement
 * on every call; a prepared one is planned once per connection and then reuses a generic plan).
 */
export async function sqlLookupPrepared(orm: MikroORM, identifier: string): Promise<LookupAnswer> {
  const phone = normalizePhone(identifier);
  if (!phone) return { matchedBy: null, reason: 'NOT_A_PHONE', customer: null };
  const client = orm.em.getConnection().getKnex().client as any;
  const conn = await client.acquireConnection();
  try {
    const res = await conn.query({ name: PREPARED_NAME, text: PREPARED_SQL, values: [phone] });
    const customer = res.rows[0]?.customer ?? null;
    return { matchedBy: customer ? 'PHONE' : null, reason: customer ? null : 'NOT_FOUND', customer };
  } finally {
    client.releaseConnection(conn);
  }
}
