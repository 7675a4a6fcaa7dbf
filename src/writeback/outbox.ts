/**
 * Writes outbox rows inside the ticket change's own transaction: the change and the write-backs
 * it asks for commit (or roll back) together. One read of the parties and their source links and
 * one insert per change, and none at all when no route fires.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Ticket } from '../db/entities';
import { bulkExecutor, Exec, lockKeys } from '../db/sql';
import { isNameKeyed } from '../webhooks/thingsboard';
import { CanonicalChange, ticketTag } from './change';
import { loadRoutes, routesFor, WritebackRoute } from './routing';

/** Advisory lock namespace of write-back targets ('JWBK'). */
const TARGET_LOCK = 0x4a57424b;

export interface OutboxRowInput {
  /** The ticket the change belongs to; null for writes of other origins (an Excel push). */
  ticketId: string | null;
  ticketNumber: string | null;
  ticketVersion: number | null;
  /** Writes not tied to a ticket: where they came from (`excel:<template>:<file>#<sheet>!<row>`). */
  origin?: string | null;
  rowHash?: string | null;
  route: string;
  connector: string;
  operation: string;
  mapping: string;
  targetKey: string;
  payload: CanonicalChange | Record<string, unknown>;
}

interface PartyRow {
  customer_name: string | null;
  phone: string | null;
  serial: string | null;
  model: string | null;
  links: Array<{ system: string; stream: string; externalId: string; entity: string; version: string | null }>;
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/** The record key writes are ordered by: the linked record, or one record per ticket. */
export function targetKeyOf(route: WritebackRoute, externalId: string, ticketNumber: string): string {
  return route.recordPer === 'ticket' ? `${route.connector}:${route.name}:${ticketNumber}` : `${route.connector}:${route.target.entity}:${externalId}`;
}

/**
 * Records the write-backs a ticket change asks for (call after the flush that stored the change,
 * inside its transaction). `changes` are the fields the change touched. Returns the rows added.
 */
export async function recordWriteBacks(em: EntityManager, ticket: Ticket, changes: Record<string, unknown>, routes = loadRoutes()): Promise<number> {
  const fired = routesFor(routes, Object.keys(changes), ticket.status);
  if (!fired.length) return 0;
  const exec = bulkExecutor(em);
  const customerId = String((ticket.customer as unknown as { id: string }).id);
  const deviceId = ticket.device ? String((ticket.device as unknown as { id: string }).id) : null;
  const [party] = await exec<PartyRow>(
    `select c.name as customer_name, c.phone, d.serial, d.model,
       (select coalesce(jsonb_agg(jsonb_build_object('system', l.system, 'stream', l.stream, 'externalId', l.external_id,
                                                     'entity', l.entity_type, 'version', l.version) order by l.id), '[]'::jsonb)
          from source_link l
         where (l.entity_type = 'customer' and l.entity_id = c.id)
            or (l.entity_type = 'device' and l.entity_id = d.id)
            or (l.entity_type = 'complaint' and l.entity_id in (select k.id from complaint k where k.device_id = d.id and k.status = 'OPEN'
                                                                    and (k.ticket_number is null or k.ticket_number = ?)))) as links
       from customer c left join device d on d.id = ?::bigint
      where c.id = ?::bigint`,
    [ticket.number, deviceId, customerId],
  );
  if (!party) return 0;
  const rows: OutboxRowInput[] = [];
  for (const route of fired) {
    // A `name:` record (a ThingsBoard push that did not name its device) has no id the vendor
    // takes: its write would only be retried until DEAD. The device's pulled link is the target.
    const targets = party.links.filter((l) => l.system === route.connector && l.entity === route.target.entity && l.stream === route.target.stream && !isNameKeyed(l.externalId));
    for (const t of targets) {
      rows.push({
        ticketId: ticket.id,
        ticketNumber: ticket.number,
        ticketVersion: ticket.version,
        route: route.name,
        connector: route.connector,
        operation: route.operation,
        mapping: route.mapping,
        targetKey: targetKeyOf(route, t.externalId, ticket.number),
        payload: {
          tag: ticketTag(ticket.number),
          changed: Object.keys(changes),
          ticket: {
            number: ticket.number,
            version: ticket.version,
            status: ticket.status,
            priority: ticket.priority,
            fault: ticket.fault,
            solution: ticket.solution ?? null,
            blockingReason: ticket.blockingReason ?? null,
            category: { level1: ticket.categoryL1 ?? null, level2: ticket.categoryL2 ?? null, level3: ticket.categoryL3 ?? null },
            resolvedAt: iso(ticket.resolvedAt),
            closedAt: iso(ticket.closedAt),
            updatedAt: iso(ticket.updatedAt) ?? new Date().toISOString(),
          },
          customer: { id: customerId, name: party.customer_name, phone: party.phone },
          device: deviceId && party.serial ? { id: deviceId, serial: party.serial, model: party.model } : null,
          target: { entity: route.target.entity, stream: route.target.stream, externalId: t.externalId, version: t.version },
        },
      });
    }
  }
  await insertOutboxRows(exec, rows);
  return rows.length;
}

/** One insert for many rows (also used by the benchmark to queue changes in bulk). */
export async function insertOutboxRows(exec: Exec, rows: OutboxRowInput[]): Promise<string[]> {
  if (!rows.length) return [];
  // Ids must follow commit order per target record (the worker applies them in id order and skips
  // an older one arriving late as stale). Ids are drawn at insert, not commit: two transactions
  // writing to one record (two tickets on one device) could commit in the other order. A lock per
  // target, held to commit and taken in key order (no deadlock between two changes; `lockKeys`), makes the
  // second wait for the first's commit before it draws its id.
  await lockKeys(exec, TARGET_LOCK, rows.map((r) => r.targetKey));
  const out = await exec<{ id: string }>(
    `insert into writeback_outbox (ticket_id, ticket_number, ticket_version, origin, row_hash, route, connector, operation, mapping, target_key, payload)
     select "ticketId", "ticketNumber", "ticketVersion", origin, "rowHash", route, connector, operation, mapping, "targetKey", payload
       from jsonb_to_recordset(?::jsonb) x("ticketId" bigint, "ticketNumber" text, "ticketVersion" int, origin text, "rowHash" text, route text,
                                           connector text, operation text, mapping text, "targetKey" text, payload jsonb)
     returning id`,
    [JSON.stringify(rows)],
  );
  return out.map((r) => String(r.id));
}
