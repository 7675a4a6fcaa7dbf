import DataLoader from 'dataloader';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { Customer, CustomerStats } from './types/customer';
import { Device, Purchase, SparePart, StockLevel, Telemetry } from './types/device';
import { Ticket, TicketEvent } from './types/ticket';
import { pgDate } from './types/scalars';
import { OPEN_STATUSES, TicketStatus } from '../tickets/ticket-enums';
import { dataIssuesByCustomerLoader } from '../quality/customer-issues';
import { isBigintId } from './types/connection';

/**
 * A PostgreSQL array literal of ids, bound as one parameter (`?::bigint[]`) so SQL text stays fixed.
 * A number beyond bigint (> 2^63 − 1) cannot be any row's id, so it is left out (it matches nothing,
 * as an unknown id would) instead of failing the statement; anything but digits is a bug and throws.
 */
export function idArray(ids: readonly string[]): string {
  for (const id of ids) if (!/^\d+$/.test(id)) throw new Error(`invalid id ${id}`);
  return `{${ids.filter(isBigintId).join(',')}}`;
}

export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

function byId<T>(rows: T[], key: (r: T) => string): Map<string, T> {
  return new Map(rows.map((r) => [key(r), r]));
}

/** A window of a parent's tickets: newest first, after a cursor, optionally by status. */
export interface TicketPageKey {
  parent: 'customer' | 'device';
  parentId: string;
  first: number;
  afterId: string | null;
  statuses: TicketStatus[] | null;
  /** Fetch each ticket's history in the same statement (the query asks for it). */
  withHistory?: boolean;
}

// A customer row read by id or phone comes with its ticket figures (an index-only count per
// customer): stats and tickets.totalCount are shown with nearly every customer view.
const CUSTOMER_WITH_STATS = `select c.id, c.phone, c.name, c.tier, c.region, c.created_at, c.updated_at, c.version, c.lineage,
    s.total as st_total, s.open as st_open, s.resolved as st_resolved, s.cancelled as st_cancelled
  from customer c cross join lateral (
    select count(*)::int as total,
           count(*) filter (where t.status in ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'PENDING'))::int as open,
           count(*) filter (where t.status in ('RESOLVED', 'CLOSED'))::int as resolved,
           count(*) filter (where t.status = 'CANCELLED')::int as cancelled
      from ticket t where t.customer_id = c.id) s`;
// Devices come with their latest telemetry (one row per device, left join): it is asked for
// with nearly every device, and fetching it here saves a round trip per lookup.
const DEVICE_COLS = `d.id, d.serial, d.model, d.firmware, d.purchase_date::text as purchase_date, d.warranty_end::text as warranty_end,
  d.owner_id, d.created_at, d.updated_at, d.lineage, tm.device_id as tm_device_id, tm.online as tm_online,
  tm.last_seen_at as tm_last_seen_at, tm.run_count as tm_run_count, tm.alerts as tm_alerts, tm.updated_at as tm_updated_at`;
const DEVICE_FROM = 'device d left join telemetry tm on tm.device_id = d.id';
const TICKET_COLS = `id, number, customer_id, device_id, category_l1, category_l2, category_l3, priority, status, fault, solution,
  blocking_reason, eta, sla_response_due, sla_resolve_due, resolved_at, closed_at, derived, created_by, created_at, updated_at, version,
  model, reported_serial, derived_lineage, enriched_at`;

/**
 * One set of DataLoaders per request: every relation is fetched with one statement per wave,
 * whatever the number of parents, so a lookup costs a fixed number of round trips.
 */
export function createLoaders(orm: MikroORM) {
  const q = <T = any>(sql: string, params: unknown[] = []) => sqlRows<T>(orm, sql, params);

  /** Maps customer rows and primes the stats loader with the figures that came along. */
  const customers = (rows: any[]): Customer[] =>
    rows.map((r) => {
      const c = Customer.fromRow(r);
      statsByCustomer.prime(c.id, toStats({ total: r.st_total, open: r.st_open, resolved: r.st_resolved, cancelled: r.st_cancelled }));
      return c;
    });

  const customerById = new DataLoader<string, Customer | null>(async (ids) => {
    const rows = byId(customers(await q(`${CUSTOMER_WITH_STATS} where c.id = any(?::bigint[])`, [idArray(ids)])), (c) => c.id);
    return ids.map((id) => rows.get(id) ?? null);
  });

  const customerByPhone = new DataLoader<string, Customer | null>(async (phones) => {
    const rows = byId(customers(await q(`${CUSTOMER_WITH_STATS} where c.phone = any(?::text[])`, [textArray(phones)])), (c) => c.phone);
    return phones.map((p) => {
      const c = rows.get(p) ?? null;
      if (c) customerById.prime(c.id, c);
      return c;
    });
  });

  const telemetryByDevice = new DataLoader<string, Telemetry | null>(async (ids) => {
    const rows = await q(`select device_id, online, last_seen_at, run_count, alerts, updated_at from telemetry where device_id = any(?::bigint[])`, [idArray(ids)]);
    const map = new Map(rows.map((r: any) => [String(r.device_id), Telemetry.fromRow(r)]));
    return ids.map((id) => map.get(id) ?? null);
  });

  /** Maps device rows and primes the telemetry loader with what came along. */
  const devices = (rows: any[]): Device[] =>
    rows.map((r) => {
      const d = Device.fromRow(r);
      telemetryByDevice.prime(d.id, r.tm_device_id == null ? null : Telemetry.fromRow({
        online: r.tm_online, last_seen_at: r.tm_last_seen_at, run_count: r.tm_run_count, alerts: r.tm_alerts, updated_at: r.tm_updated_at,
      }));
      return d;
    });

  const deviceById = new DataLoader<string, Device | null>(async (ids) => {
    const rows = byId(devices(await q(`select ${DEVICE_COLS} from ${DEVICE_FROM} where d.id = any(?::bigint[])`, [idArray(ids)])), (d) => d.id);
    return ids.map((id) => rows.get(id) ?? null);
  });

  const deviceBySerial = new DataLoader<string, Device | null>(async (serials) => {
    const rows = byId(devices(await q(`select ${DEVICE_COLS} from ${DEVICE_FROM} where d.serial = any(?::text[])`, [textArray(serials)])), (d) => d.serial);
    return serials.map((s) => {
      const d = rows.get(s) ?? null;
      if (d) deviceById.prime(d.id, d);
      return d;
    });
  });

  // A customer's devices, optionally with their purchases and compatible parts (+ stock) as json
  // in the same statement when the query asks for them (see DeviceIncludes), primed into the loaders below.
  const devicesByOwner = new DataLoader<{ ownerId: string } & DeviceIncludes, Device[], string>(
    async (keys) => {
      const results = new Map<string, Device[]>();
      const groups = groupBy([...keys], (k) => includeKey(k));
      await Promise.all([...groups.values()].map(async (group) => {
        const { purchases, parts } = group[0];
        const extra = [
          purchases ? `, (select json_agg(json_build_object(${PURCHASE_JSON}) order by pu.ordered_at desc nulls last, pu.id)
                          from purchase pu where pu.device_id = d.id) as pu_list` : '',
          parts ? `, (select json_agg(json_build_object('id', p.id, 'code', p.code, 'name', p.name, 'stock',
                          (select json_agg(json_build_object('warehouse', s.warehouse, 'quantity', s.quantity, 'updated_at', s.updated_at)
                                  order by s.warehouse) from stock s where s.part_id = p.id)) order by p.code)
                       from spare_part p where p.id in (select pc.part_id from part_compatibility pc where pc.model = d.model
                         and (pc.firmware_prefix = '' or coalesce(d.firmware, '') like pc.firmware_prefix || '%'))) as parts_list` : '',
        ].join('');
        const rows = await q(`select ${DEVICE_COLS}${extra} from ${DEVICE_FROM} where d.owner_id = any(?::bigint[]) order by d.id`,
          [idArray(group.map((k) => k.ownerId))]);
        const list = devices(rows);
        rows.forEach((r: any, i: number) => {
          const id = list[i].id;
          if (purchases) purchasesByDevice.prime(id, (r.pu_list ?? []).map(Purchase.fromRow));
          if (parts) {
            compatiblePartsByDevice.prime(id, (r.parts_list ?? []).map((p: any) => {
              const part = SparePart.fromRow(p);
              stockByPart.prime(part.id, stockLevels(p.stock));
              return part;
            }));
          }
        });
        const byOwner = groupBy(list, (d) => d.ownerId!);
        for (const k of group) results.set(devicesKey(k), byOwner.get(k.ownerId) ?? []);
      }));
      return keys.map((k) => results.get(devicesKey(k)) ?? []);
    },
    { cacheKeyFn: devicesKey },
  );

  const PURCHASE_JSON = `'id', pu.id, 'order_number', pu.order_number, 'line_no', pu.line_no, 'customer_id', pu.customer_id,
    'device_id', pu.device_id, 'model', pu.model, 'quantity', pu.quantity, 'amount', pu.amount::text, 'currency', pu.currency,
    'ordered_at', pu.ordered_at`;
  const purchaseCols = 'id, order_number, line_no, customer_id, device_id, model, quantity, amount, currency, ordered_at::text as ordered_at';
  const purchasesByDevice = new DataLoader<string, Purchase[]>(async (ids) => {
    const rows = (await q(`select ${purchaseCols} from purchase where device_id = any(?::bigint[]) order by ordered_at desc nulls last, id`, [idArray(ids)])).map(Purchase.fromRow);
    const groups = groupBy(rows, (p) => p.deviceId!);
    return ids.map((id) => groups.get(id) ?? []);
  });

  const purchasesByCustomer = new DataLoader<string, Purchase[]>(async (ids) => {
    const rows = (await q(`select ${purchaseCols} from purchase where customer_id = any(?::bigint[]) order by ordered_at desc nulls last, id`, [idArray(ids)])).map(Purchase.fromRow);
    const groups = groupBy(rows, (p) => p.customerId!);
    return ids.map((id) => groups.get(id) ?? []);
  });

  const stockLevels = (list: any[] | null): StockLevel[] =>
    (list ?? []).map((r) => Object.assign(new StockLevel(), { warehouse: r.warehouse, quantity: r.quantity, updatedAt: pgDate(r.updated_at) }));

  const stockByPart = new DataLoader<string, StockLevel[]>(async (ids) => {
    const rows = await q(`select part_id, warehouse, quantity, updated_at from stock where part_id = any(?::bigint[]) order by warehouse`, [idArray(ids)]);
    const groups = groupBy(rows, (r: any) => String(r.part_id));
    return ids.map((id) => stockLevels(groups.get(id) ?? []));
  });

  // A part fits a device when the model matches and the firmware starts with the part's prefix (if any).
  // Stock per warehouse comes along as json (primed into stockByPart): parts are almost always shown with it.
  const compatiblePartsByDevice = new DataLoader<string, SparePart[]>(async (ids) => {
    const rows = await q(
      `select x.device_id, p.id, p.code, p.name,
              (select json_agg(json_build_object('warehouse', s.warehouse, 'quantity', s.quantity, 'updated_at', s.updated_at) order by s.warehouse)
                 from stock s where s.part_id = p.id) as stock
         from (select distinct d.id as device_id, pc.part_id
                 from device d
                 join part_compatibility pc on pc.model = d.model
                  and (pc.firmware_prefix = '' or coalesce(d.firmware, '') like pc.firmware_prefix || '%')
                where d.id = any(?::bigint[])) x
         join spare_part p on p.id = x.part_id
        order by x.device_id, p.code`,
      [idArray(ids)],
    );
    const groups = groupBy(rows, (r: any) => String(r.device_id));
    return ids.map((id) =>
      (groups.get(id) ?? []).map((r: any) => {
        const part = SparePart.fromRow(r);
        stockByPart.prime(part.id, stockLevels(r.stock));
        return part;
      }),
    );
  });

  const ticketById = new DataLoader<string, Ticket | null>(async (ids) => {
    const rows = byId((await q(`select ${TICKET_COLS} from ticket where id = any(?::bigint[])`, [idArray(ids)])).map(Ticket.fromRow), (t) => t.id);
    return ids.map((id) => rows.get(id) ?? null);
  });

  const ticketByNumber = new DataLoader<string, Ticket | null>(async (numbers) => {
    const rows = byId((await q(`select ${TICKET_COLS} from ticket where number = any(?::text[])`, [textArray(numbers)])).map(Ticket.fromRow), (t) => t.number);
    return numbers.map((n) => rows.get(n) ?? null);
  });

  // Keys with the same window (first, cursor, statuses) share one lateral-join statement.
  const ticketPage = new DataLoader<TicketPageKey, Ticket[], string>(
    async (keys) => {
      const results = new Map<string, Ticket[]>();
      const groups = groupBy([...keys], (k) => JSON.stringify([k.parent, k.first, k.afterId, k.statuses, !!k.withHistory]));
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const { parent, first, afterId, statuses, withHistory } = group[0];
          const col = parent === 'customer' ? 'customer_id' : 'device_id';
          const params: unknown[] = [idArray(group.map((k) => k.parentId))];
          let where = `t.${col} = p.id`;
          if (afterId) { where += ' and t.id < ?'; params.push(afterId); }
          if (statuses) { where += ' and t.status = any(?::text[])'; params.push(textArray(statuses)); }
          params.push(first + 1);
          const history = withHistory
            ? `, (select json_agg(json_build_object('id', e.id, 'type', e.type, 'from_status', e.from_status, 'to_status', e.to_status,
                 'changes', e.changes, 'note', e.note, 'actor', e.actor, 'origin', e.origin, 'at', e.at) order by e.id)
                 from ticket_event e where e.ticket_id = t.id) as history`
            : '';
          const rows = await q(
            `select p.id as parent_id, t.*${history} from unnest(?::bigint[]) as p(id)
             cross join lateral (select ${TICKET_COLS} from ticket t where ${where} order by t.id desc limit ?) t`,
            params,
          );
          const byParent = groupBy(rows, (r: any) => String(r.parent_id));
          for (const k of group) {
            results.set(ticketPageKey(k), (byParent.get(k.parentId) ?? []).map((r: any) => {
              const ticket = Ticket.fromRow(r);
              if (withHistory) historyByTicket.prime(ticket.id, (r.history ?? []).map(TicketEvent.fromRow));
              return ticket;
            }));
          }
        }),
      );
      return keys.map((k) => results.get(ticketPageKey(k)) ?? []);
    },
    { cacheKeyFn: ticketPageKey },
  );

  const ticketCount = new DataLoader<Omit<TicketPageKey, 'first' | 'afterId'>, number, string>(
    async (keys) => {
      const results = new Map<string, number>();
      const groups = groupBy([...keys], (k) => JSON.stringify([k.parent, k.statuses]));
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const { parent, statuses } = group[0];
          const col = parent === 'customer' ? 'customer_id' : 'device_id';
          const params: unknown[] = [idArray(group.map((k) => k.parentId))];
          let where = `${col} = any(?::bigint[])`;
          if (statuses) { where += ' and status = any(?::text[])'; params.push(textArray(statuses)); }
          const rows = await q(`select ${col} as parent_id, count(*)::int as n from ticket where ${where} group by ${col}`, params);
          const counts = new Map(rows.map((r: any) => [String(r.parent_id), r.n as number]));
          for (const k of group) results.set(countKey(k), counts.get(k.parentId) ?? 0);
        }),
      );
      return keys.map((k) => results.get(countKey(k)) ?? 0);
    },
    { cacheKeyFn: countKey },
  );

  const historyByTicket = new DataLoader<string, TicketEvent[]>(async (ids) => {
    const rows = await q(
      `select id, ticket_id, type, from_status, to_status, changes, note, actor, origin, at from ticket_event
        where ticket_id = any(?::bigint[]) order by ticket_id, id`,
      [idArray(ids)],
    );
    const groups = groupBy(rows, (r: any) => String(r.ticket_id));
    return ids.map((id) => (groups.get(id) ?? []).map(TicketEvent.fromRow));
  });

  const statsByCustomer = new DataLoader<string, CustomerStats>(async (ids) => {
    const rows = await q(
      `select customer_id,
              count(*)::int as total,
              count(*) filter (where status = any(?::text[]))::int as open,
              count(*) filter (where status in ('RESOLVED', 'CLOSED'))::int as resolved,
              count(*) filter (where status = 'CANCELLED')::int as cancelled
         from ticket where customer_id = any(?::bigint[]) group by customer_id`,
      [textArray(OPEN_STATUSES), idArray(ids)],
    );
    const map = new Map(rows.map((r: any) => [String(r.customer_id), r]));
    return ids.map((id) => toStats(map.get(id) ?? { total: 0, open: 0, resolved: 0, cancelled: 0 }));
  });

  const sourceLinks = new DataLoader<string, any[]>(async (keys) => {
    // key = "<entityType>:<id>"
    const types = [...new Set(keys.map((k) => k.split(':')[0]))];
    const rows = await q(
      `select entity_type, entity_id, system, stream, external_id, version, seen_at from source_link
        where entity_type = any(?::text[]) and entity_id = any(?::bigint[]) order by system, stream, external_id`,
      [textArray(types), idArray([...new Set(keys.map((k) => k.split(':')[1]))])],
    );
    const groups = groupBy(rows, (r: any) => `${r.entity_type}:${r.entity_id}`);
    return keys.map((k) => groups.get(k) ?? []);
  });

  return {
    customerById, customerByPhone, deviceById, deviceBySerial, devicesByOwner, telemetryByDevice,
    purchasesByDevice, purchasesByCustomer, compatiblePartsByDevice, stockByPart, ticketById, ticketByNumber,
    ticketPage, ticketCount, historyByTicket, statsByCustomer, sourceLinks,
    dataIssuesByCustomer: dataIssuesByCustomerLoader(orm),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/** Relations of a device fetched in the devices statement itself, when the query asks for them. */
export interface DeviceIncludes {
  purchases: boolean;
  parts: boolean;
}

function includeKey(k: DeviceIncludes): string {
  return `${k.purchases ? 'p' : ''}${k.parts ? 'c' : ''}`;
}

function devicesKey(k: { ownerId: string } & DeviceIncludes): string {
  return `${k.ownerId}|${includeKey(k)}`;
}

function toStats(r: { total: number; open: number; resolved: number; cancelled: number }): CustomerStats {
  const decided = r.total - r.cancelled;
  return Object.assign(new CustomerStats(), {
    ticketCount: r.total, openTicketCount: r.open, resolvedTicketCount: r.resolved,
    resolutionRate: decided > 0 ? Math.round((r.resolved / decided) * 10000) / 10000 : null,
  });
}

function ticketPageKey(k: TicketPageKey): string {
  return JSON.stringify([k.parent, k.parentId, k.first, k.afterId, k.statuses, !!k.withHistory]);
}

function countKey(k: Omit<TicketPageKey, 'first' | 'afterId'>): string {
  return JSON.stringify([k.parent, k.parentId, k.statuses]);
}
