/**
 * Writes the demo data set into the store: one transaction, one set-based statement per table
 * (rows travel as a single JSON parameter and are expanded with jsonb_to_recordset; foreign keys
 * are resolved by natural key — phone, serial, order line, ticket number — inside the SQL).
 *
 * Idempotency: every insert is `ON CONFLICT (natural key) DO NOTHING`. We chose that over "skip
 * when a marker row exists" because it converges whatever state the database is in: a second
 * run inserts nothing, a run against a store where some of these records already arrived
 * through a real sync links to them instead of failing or duplicating, and records edited after
 * the first load are never overwritten. Ticket history and ticket audit rows have no natural key,
 * so they are written only for tickets this run inserted (RETURNING of the ticket insert). A
 * transaction-scoped advisory lock serializes concurrent loaders (two `junction demo` starting
 * together). After writing, every record of the data set is checked to be present, so a row that
 * a join failed to place aborts the whole load instead of vanishing.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { DemoDataset, DemoSamples, generateDemoDataset } from './dataset';
import { bulkExecutor, Exec } from '../db/sql';

export interface DemoCounts {
  customers: number;
  devices: number;
  telemetry: number;
  purchases: number;
  spareParts: number;
  partCompatibility: number;
  stock: number;
  tickets: number;
  ticketEvents: number;
  ticketAudit: number;
  sourceLinks: number;
  dataIssues: number;
  ticketCounters: number;
}

export interface DemoSummary {
  /** True when this call found everything in place and wrote nothing. */
  alreadyLoaded: boolean;
  /** Rows this call wrote (all zero on a re-run). */
  inserted: DemoCounts;
  /** Rows in the demo data set. */
  total: DemoCounts;
  /** Identifiers worth trying: the first customer's phone in several formats, a serial, tickets. */
  samples: DemoSamples;
}

/** Advisory lock key held for the duration of a demo load. */
const DEMO_LOCK = 727_100;

const executor = bulkExecutor;

const json = (rows: unknown): string => JSON.stringify(rows);

async function count(exec: Exec, sql: string, params: unknown[]): Promise<number> {
  const rows = await exec<{ n: number }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** Expected totals of a data set (what `total` reports). */
export function demoTotals(ds: DemoDataset): DemoCounts {
  const ticketEvents = ds.tickets.reduce((n, t) => n + t.events.length, 0);
  const ticketAudit = ds.tickets.reduce((n, t) => n + t.events.reduce((m, e) => m + Object.keys(e.changes).length, 0), 0);
  return {
    customers: ds.customers.length,
    devices: ds.devices.length,
    telemetry: ds.telemetry.length,
    purchases: ds.purchases.length,
    spareParts: ds.spareParts.length,
    partCompatibility: ds.spareParts.reduce((n, p) => n + p.compatibility.length, 0),
    stock: ds.spareParts.reduce((n, p) => n + p.stock.length, 0),
    tickets: ds.tickets.length,
    ticketEvents,
    ticketAudit,
    sourceLinks: ds.sourceLinks.length,
    dataIssues: ds.dataIssues.length,
    ticketCounters: ds.ticketCounters.length,
  };
}

/** Loads the demo data set (default: the standard seed). Safe to run any number of times. */
export async function loadDemoData(orm: MikroORM, dataset: DemoDataset = generateDemoDataset()): Promise<DemoSummary> {
  const total = demoTotals(dataset);
  const inserted = await orm.em.fork().transactional(async (em) => {
    const exec = executor(em);
    await exec('select pg_advisory_xact_lock(?)', [DEMO_LOCK]);
    const counts = await writeAll(exec, dataset);
    await checkPresent(exec, dataset);
    return counts;
  });
  return {
    alreadyLoaded: Object.values(inserted).every((n) => n === 0),
    inserted,
    total,
    samples: dataset.samples,
  };
}

async function writeAll(exec: Exec, ds: DemoDataset): Promise<DemoCounts> {
  const customers = await count(
    exec,
    `with ins as (
       insert into customer (phone, name, tier, region, lineage, created_at, updated_at)
       select r.phone, r.name, r.tier, r.region, r.lineage, r.created_at, r.updated_at
       from jsonb_to_recordset(?::jsonb) as r(ord int, phone text, name text, tier text, region text, lineage jsonb,
                                              created_at timestamptz, updated_at timestamptz)
       order by r.ord
       on conflict (phone) do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.customers.map((c, ord) => ({
      ord, phone: c.phone, name: c.name, tier: c.tier, region: c.region, lineage: c.lineage, created_at: c.createdAt, updated_at: c.updatedAt,
    })))],
  );

  const devices = await count(
    exec,
    `with ins as (
       insert into device (serial, model, firmware, purchase_date, warranty_end, owner_id, lineage, created_at, updated_at)
       select r.serial, r.model, r.firmware, r.purchase_date, r.warranty_end, c.id, r.lineage, r.created_at, r.updated_at
       from jsonb_to_recordset(?::jsonb) as r(ord int, serial text, model text, firmware text, purchase_date date, warranty_end date,
                                              owner_phone text, lineage jsonb, created_at timestamptz, updated_at timestamptz)
       join customer c on c.phone = r.owner_phone
       order by r.ord
       on conflict (serial) do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.devices.map((d, ord) => ({
      ord, serial: d.serial, model: d.model, firmware: d.firmware, purchase_date: d.purchaseDate, warranty_end: d.warrantyEnd,
      owner_phone: d.ownerPhone, lineage: d.lineage, created_at: d.createdAt, updated_at: d.updatedAt,
    })))],
  );

  const telemetry = await count(
    exec,
    `with ins as (
       insert into telemetry (device_id, online, last_seen_at, run_count, alerts, lineage, updated_at)
       select d.id, r.online, r.last_seen_at, r.run_count, r.alerts, r.lineage, r.updated_at
       from jsonb_to_recordset(?::jsonb) as r(ord int, serial text, online boolean, last_seen_at timestamptz, run_count bigint,
                                              alerts jsonb, lineage jsonb, updated_at timestamptz)
       join device d on d.serial = r.serial
       order by r.ord
       on conflict (device_id) do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.telemetry.map((t, ord) => ({
      ord, serial: t.serial, online: t.online, last_seen_at: t.lastSeenAt, run_count: t.runCount, alerts: t.alerts,
      lineage: t.lineage, updated_at: t.updatedAt,
    })))],
  );

  const purchases = await count(
    exec,
    `with ins as (
       insert into purchase (order_number, line_no, customer_id, device_id, model, quantity, amount, currency, ordered_at, lineage,
                             created_at, updated_at)
       select r.order_number, r.line_no, c.id, d.id, r.model, r.quantity, r.amount, r.currency, r.ordered_at, r.lineage,
              r.created_at, r.created_at
       from jsonb_to_recordset(?::jsonb) as r(ord int, order_number text, line_no int, customer_phone text, device_serial text,
                                              model text, quantity int, amount numeric(14,2), currency text, ordered_at date,
                                              lineage jsonb, created_at timestamptz)
       join customer c on c.phone = r.customer_phone
       left join device d on d.serial = r.device_serial
       order by r.ord
       on conflict (order_number, line_no) do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.purchases.map((p, ord) => ({
      ord, order_number: p.orderNumber, line_no: p.lineNo, customer_phone: p.customerPhone, device_serial: p.deviceSerial,
      model: p.model, quantity: p.quantity, amount: p.amount, currency: p.currency, ordered_at: p.orderedAt, lineage: p.lineage,
      created_at: p.createdAt,
    })))],
  );

  const spareParts = await count(
    exec,
    `with ins as (
       insert into spare_part (code, name, created_at, updated_at)
       select r.code, r.name, r.created_at, r.created_at
       from jsonb_to_recordset(?::jsonb) as r(ord int, code text, name text, created_at timestamptz)
       order by r.ord
       on conflict (code) do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.spareParts.map((p, ord) => ({ ord, code: p.code, name: p.name, created_at: p.createdAt })))],
  );

  const partCompatibility = await count(
    exec,
    `with ins as (
       insert into part_compatibility (part_id, model, firmware_prefix)
       select s.id, r.model, r.firmware_prefix
       from jsonb_to_recordset(?::jsonb) as r(code text, model text, firmware_prefix text)
       join spare_part s on s.code = r.code
       on conflict do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.spareParts.flatMap((p) => p.compatibility.map((c) => ({ code: p.code, model: c.model, firmware_prefix: c.firmwarePrefix }))))],
  );

  const stock = await count(
    exec,
    `with ins as (
       insert into stock (part_id, warehouse, quantity, updated_at)
       select s.id, r.warehouse, r.quantity, r.updated_at
       from jsonb_to_recordset(?::jsonb) as r(code text, warehouse text, quantity int, updated_at timestamptz)
       join spare_part s on s.code = r.code
       on conflict (part_id, warehouse) do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.spareParts.flatMap((p) => p.stock.map((s) => ({ code: p.code, warehouse: s.warehouse, quantity: s.quantity, updated_at: p.stockUpdatedAt }))))],
  );

  // Tickets, their history and their audit entries in one statement: history and audit are
  // written only for the tickets this statement inserted, in event order.
  const [ticketRow] = await exec<{ tickets: number; events: number; audit: number }>(
    `with t as (
       insert into ticket (number, customer_id, device_id, category_l1, category_l2, category_l3, priority, status, fault, solution,
                           blocking_reason, eta, sla_response_due, sla_resolve_due, resolved_at, closed_at, derived, lineage,
                           created_by, version, created_at, updated_at)
       select r.number, c.id, d.id, r.category_l1, r.category_l2, r.category_l3, r.priority, r.status, r.fault, r.solution,
              r.blocking_reason, r.eta, r.sla_response_due, r.sla_resolve_due, r.resolved_at, r.closed_at, r.derived, '{}'::jsonb,
              r.created_by, r.version, r.created_at, r.updated_at
       from jsonb_to_recordset(?::jsonb) as r(ord int, number text, customer_phone text, device_serial text, category_l1 text,
                                              category_l2 text, category_l3 text, priority text, status text, fault text,
                                              solution text, blocking_reason text, eta timestamptz, sla_response_due timestamptz,
                                              sla_resolve_due timestamptz, resolved_at timestamptz, closed_at timestamptz,
                                              derived jsonb, created_by text, version int, created_at timestamptz,
                                              updated_at timestamptz)
       join customer c on c.phone = r.customer_phone
       left join device d on d.serial = r.device_serial
       order by r.ord
       on conflict (number) do nothing
       returning id, number),
     e as (
       select t.id as ticket_id, ev.*
       from t
       join jsonb_to_recordset(?::jsonb) as ev(number text, seq int, type text, from_status text, to_status text, changes jsonb,
                                               note text, actor text, origin text, at timestamptz) on ev.number = t.number),
     ev_ins as (
       insert into ticket_event (ticket_id, type, from_status, to_status, changes, note, actor, origin, at)
       select e.ticket_id, e.type, e.from_status, e.to_status, e.changes, e.note, e.actor, e.origin, e.at
       from e
       order by e.ticket_id, e.seq
       returning 1),
     audit_ins as (
       insert into audit_log (entity_type, entity_id, field, before, after, actor, origin, at)
       select 'ticket', e.ticket_id, ch.key, nullif(ch.value -> 'before', 'null'::jsonb), nullif(ch.value -> 'after', 'null'::jsonb),
              e.actor, e.origin, e.at
       from e
       cross join lateral jsonb_each(e.changes) as ch(key, value)
       order by e.ticket_id, e.seq, ch.key
       returning 1)
     select (select count(*) from t)::int as tickets,
            (select count(*) from ev_ins)::int as events,
            (select count(*) from audit_ins)::int as audit`,
    [
      json(ds.tickets.map((t, ord) => ({
        ord, number: t.number, customer_phone: t.customerPhone, device_serial: t.deviceSerial,
        category_l1: t.category[0], category_l2: t.category[1], category_l3: t.category[2],
        priority: t.priority, status: t.status, fault: t.fault, solution: t.solution, blocking_reason: t.blockingReason,
        eta: t.eta, sla_response_due: t.slaResponseDue, sla_resolve_due: t.slaResolveDue, resolved_at: t.resolvedAt,
        closed_at: t.closedAt, derived: t.derived, created_by: t.createdBy, version: t.version,
        created_at: t.createdAt, updated_at: t.updatedAt,
      }))),
      json(ds.tickets.flatMap((t) => t.events.map((e) => ({
        number: t.number, seq: e.seq, type: e.type, from_status: e.fromStatus, to_status: e.toStatus, changes: e.changes,
        note: e.note, actor: e.actor, origin: e.origin, at: e.at,
      })))),
    ],
  );

  // entity_id is NOT NULL: a link whose record cannot be found fails the load instead of vanishing.
  const sourceLinks = await count(
    exec,
    `with ins as (
       insert into source_link (system, stream, external_id, entity_type, entity_id, version, seen_at)
       select r.system, r.stream, r.external_id, r.entity_type,
              case r.entity_type when 'customer' then c.id when 'device' then d.id when 'purchase' then p.id when 'ticket' then t.id end,
              r.version, r.seen_at
       from jsonb_to_recordset(?::jsonb) as r(ord int, system text, stream text, external_id text, entity_type text, key text,
                                              line_no int, version text, seen_at timestamptz)
       left join customer c on r.entity_type = 'customer' and c.phone = r.key
       left join device d on r.entity_type = 'device' and d.serial = r.key
       left join purchase p on r.entity_type = 'purchase' and p.order_number = r.key and p.line_no = r.line_no
       left join ticket t on r.entity_type = 'ticket' and t.number = r.key
       order by r.ord
       on conflict (system, stream, external_id, entity_type) do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.sourceLinks.map((l, ord) => ({
      ord, system: l.system, stream: l.stream, external_id: l.externalId, entity_type: l.entityType, key: l.key,
      line_no: l.lineNo, version: l.version, seen_at: l.seenAt,
    })))],
  );

  const dataIssues = await count(
    exec,
    `with ins as (
       insert into data_issue (kind, severity, state, entity_type, entity_id, fingerprint, message, evidence, first_seen, last_seen)
       select r.kind, r.severity, r.state, r.entity_type,
              case r.entity_type when 'customer' then c.id when 'ticket' then t.id end,
              r.fingerprint, r.message, r.evidence, r.first_seen, r.last_seen
       from jsonb_to_recordset(?::jsonb) as r(ord int, kind text, severity text, state text, entity_type text, entity_key text,
                                              fingerprint text, message text, evidence jsonb, first_seen timestamptz,
                                              last_seen timestamptz)
       left join customer c on r.entity_type = 'customer' and c.phone = r.entity_key
       left join ticket t on r.entity_type = 'ticket' and t.number = r.entity_key
       order by r.ord
       on conflict (fingerprint) do nothing
       returning 1)
     select count(*)::int as n from ins`,
    [json(ds.dataIssues.map((i, ord) => ({
      ord, kind: i.kind, severity: i.severity, state: i.state, entity_type: i.entityType, entity_key: i.entityKey,
      fingerprint: i.fingerprint, message: i.message, evidence: i.evidence, first_seen: i.firstSeen, last_seen: i.lastSeen,
    })))],
  );

  // TicketService numbers new tickets from these counters (last + 1), so a ticket opened on a
  // demo day continues after the demo numbers. Only ever raised, never lowered.
  const ticketCounters = await count(
    exec,
    `with up as (
       insert into ticket_number_counter (day, last)
       select r.day, r.last from jsonb_to_recordset(?::jsonb) as r(day date, last int)
       on conflict (day) do update set last = excluded.last
       where ticket_number_counter.last < excluded.last
       returning 1)
     select count(*)::int as n from up`,
    [json(ds.ticketCounters)],
  );

  return {
    customers, devices, telemetry, purchases, spareParts, partCompatibility, stock,
    tickets: Number(ticketRow.tickets), ticketEvents: Number(ticketRow.events), ticketAudit: Number(ticketRow.audit),
    sourceLinks, dataIssues, ticketCounters,
  };
}

/** Every record of the data set must now exist (inserted now or before); otherwise roll back. */
async function checkPresent(exec: Exec, ds: DemoDataset): Promise<void> {
  const [row] = await exec<Record<string, number>>(
    `select
       (select count(*) from customer where phone in (select jsonb_array_elements_text(?::jsonb)))::int as customers,
       (select count(*) from device where serial in (select jsonb_array_elements_text(?::jsonb)))::int as devices,
       (select count(*) from telemetry m join device d on d.id = m.device_id
          where d.serial in (select jsonb_array_elements_text(?::jsonb)))::int as telemetry,
       (select count(*) from purchase p join jsonb_to_recordset(?::jsonb) as r(o text, l int)
          on p.order_number = r.o and p.line_no = r.l)::int as purchases,
       (select count(*) from spare_part where code in (select jsonb_array_elements_text(?::jsonb)))::int as "spareParts",
       (select count(*) from ticket where number in (select jsonb_array_elements_text(?::jsonb)))::int as tickets,
       (select count(*) from source_link s join jsonb_to_recordset(?::jsonb) as r(s text, t text, x text)
          on s.system = r.s and s.stream = r.t and s.external_id = r.x)::int as "sourceLinks",
       (select count(*) from data_issue where fingerprint in (select jsonb_array_elements_text(?::jsonb)))::int as "dataIssues"`,
    [
      json(ds.customers.map((c) => c.phone)),
      json(ds.devices.map((d) => d.serial)),
      json(ds.telemetry.map((t) => t.serial)),
      json(ds.purchases.map((p) => ({ o: p.orderNumber, l: p.lineNo }))),
      json(ds.spareParts.map((p) => p.code)),
      json(ds.tickets.map((t) => t.number)),
      json(ds.sourceLinks.map((l) => ({ s: l.system, t: l.stream, x: l.externalId }))),
      json(ds.dataIssues.map((i) => i.fingerprint)),
    ],
  );
  const expected: Record<string, number> = {
    customers: ds.customers.length,
    devices: ds.devices.length,
    telemetry: ds.telemetry.length,
    purchases: ds.purchases.length,
    spareParts: ds.spareParts.length,
    tickets: ds.tickets.length,
    sourceLinks: ds.sourceLinks.length,
    dataIssues: ds.dataIssues.length,
  };
  const missing = Object.entries(expected)
    .filter(([k, n]) => Number(row[k]) !== n)
    .map(([k, n]) => `${k}: ${row[k]} of ${n}`);
  if (missing.length) throw new Error(`Demo data load incomplete, rolled back (${missing.join('; ')})`);
}
