import DataLoader from 'dataloader';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { Customer, CustomerStats } from './types/customer';
import { Device, Purchase, SparePart, StockLevel, Telemetry } from './types/device';
import { Ticket, TicketEvent } from './types/ticket';
import { pgDate } from './types/scalars';
import { OPEN_STATUSES, TicketStatus } from '../tickets/ticket-enums';

/** A PostgreSQL array literal of ids, bound as one parameter (`?::bigint[]`) so SQL text stays fixed. */
export function idArray(ids: readonly string[]): string {
  for (const id of ids) if (!/^\d{1,19}$/.test(id)) throw new Error(`invalid id ${id}`);
  return `{${ids.join(',')}}`;
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
}

const CUSTOMER_COLS = 'id, phone, name, tier, region, created_at, updated_at, version, lineage';
const DEVICE_COLS = `id, serial, model, firmware, purchase_date::text as purchase_date, warranty_end::text as warranty_end,
  owner_id, created_at, updated_at, lineage`;
const TICKET_COLS = `id, number, customer_id, device_id, category_l1, category_l2, category_l3, priority, status, fault, solution,
  blocking_reason, eta, sla_response_due, sla_resolve_due, resolved_at, closed_at, derived, created_by, created_at, updated_at, version`;

/**
 * One set of DataLoaders per request: every relation is fetched with one statement per wave,
 * whatever the number of parents, so a lookup costs a fixed number of round trips.
 */
export function createLoaders(orm: MikroORM) {
  const q = <T = any>(sql: string, params: unknown[] = []) => sqlRows<T>(orm, sql, params);

  const customerById = new DataLoader<string, Customer | null>(async (ids) => {
    const rows = byId((await q(`select ${CUSTOMER_COLS} from customer where id = any(?::bigint[])`, [idArray(ids)])).map(Customer.fromRow), (c) => c.id);
    return ids.map((id) => rows.get(id) ?? null);
  });

  const customerByPhone = new DataLoader<string, Customer | null>(async (phones) => {
    const rows = byId((await q(`select ${CUSTOMER_COLS} from customer where phone = any(?::text[])`, [textArray(phones)])).map(Customer.fromRow), (c) => c.phone);
    return phones.map((p) => {
      const c = rows.get(p) ?? null;
      if (c) customerById.prime(c.id, c);
      return c;
    });
  });

  const deviceById = new DataLoader<string, Device | null>(async (ids) => {
    const rows = byId((await q(`select ${DEVICE_COLS} from device where id = any(?::bigint[])`, [idArray(ids)])).map((r) => Device.fromRow(r)), (d) => d.id);
    return ids.map((id) => rows.get(id) ?? null);
  });

  const deviceBySerial = new DataLoader<string, Device | null>(async (serials) => {
    const rows = byId((await q(`select ${DEVICE_COLS} from device where serial = any(?::text[])`, [textArray(serials)])).map((r) => Device.fromRow(r)), (d) => d.serial);
    return serials.map((s) => {
      const d = rows.get(s) ?? null;
      if (d) deviceById.prime(d.id, d);
      return d;
    });
  });

  const devicesByOwner = new DataLoader<string, Device[]>(async (ids) => {
    const rows = (await q(`select ${DEVICE_COLS} from device where owner_id = any(?::bigint[]) order by id`, [idArray(ids)])).map((r) => Device.fromRow(r));
    const groups = groupBy(rows, (d) => d.ownerId!);
    return ids.map((id) => groups.get(id) ?? []);
  });

  const telemetryByDevice = new DataLoader<string, Telemetry | null>(async (ids) => {
    const rows = await q(`select device_id, online, last_seen_at, run_count, alerts, updated_at from telemetry where device_id = any(?::bigint[])`, [idArray(ids)]);
    const map = new Map(rows.map((r: any) => [String(r.device_id), Telemetry.fromRow(r)]));
    return ids.map((id) => map.get(id) ?? null);
  });

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

  // A part fits a device when the model matches and the firmware starts with the part's prefix (if any).
  const compatiblePartsByDevice = new DataLoader<string, SparePart[]>(async (ids) => {
    const rows = await q(
      `select distinct d.id as device_id, p.id, p.code, p.name
         from device d
         join part_compatibility pc on pc.model = d.model
          and (pc.firmware_prefix = '' or coalesce(d.firmware, '') like pc.firmware_prefix || '%')
         join spare_part p on p.id = pc.part_id
        where d.id = any(?::bigint[])
        order by d.id, p.code`,
      [idArray(ids)],
    );
    const groups = groupBy(rows, (r: any) => String(r.device_id));
    return ids.map((id) => (groups.get(id) ?? []).map(SparePart.fromRow));
  });

  const stockByPart = new DataLoader<string, StockLevel[]>(async (ids) => {
    const rows = await q(`select part_id, warehouse, quantity, updated_at from stock where part_id = any(?::bigint[]) order by warehouse`, [idArray(ids)]);
    const groups = groupBy(rows, (r: any) => String(r.part_id));
    return ids.map((id) =>
      (groups.get(id) ?? []).map((r: any) => Object.assign(new StockLevel(), { warehouse: r.warehouse, quantity: r.quantity, updatedAt: pgDate(r.updated_at) })),
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
      const groups = groupBy([...keys], (k) => JSON.stringify([k.parent, k.first, k.afterId, k.statuses]));
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const { parent, first, afterId, statuses } = group[0];
          const col = parent === 'customer' ? 'customer_id' : 'device_id';
          const params: unknown[] = [idArray(group.map((k) => k.parentId))];
          let where = `t.${col} = p.id`;
          if (afterId) { where += ' and t.id < ?'; params.push(afterId); }
          if (statuses) { where += ' and t.status = any(?::text[])'; params.push(textArray(statuses)); }
          params.push(first + 1);
          const rows = await q(
            `select p.id as parent_id, t.* from unnest(?::bigint[]) as p(id)
             cross join lateral (select ${TICKET_COLS} from ticket t where ${where} order by t.id desc limit ?) t`,
            params,
          );
          const byParent = groupBy(rows, (r: any) => String(r.parent_id));
          for (const k of group) results.set(ticketPageKey(k), (byParent.get(k.parentId) ?? []).map(Ticket.fromRow));
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
    return ids.map((id) => {
      const r: any = map.get(id) ?? { total: 0, open: 0, resolved: 0, cancelled: 0 };
      const decided = r.total - r.cancelled;
      return Object.assign(new CustomerStats(), {
        ticketCount: r.total, openTicketCount: r.open, resolvedTicketCount: r.resolved,
        resolutionRate: decided > 0 ? Math.round((r.resolved / decided) * 10000) / 10000 : null,
      });
    });
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
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

function ticketPageKey(k: TicketPageKey): string {
  return JSON.stringify([k.parent, k.parentId, k.first, k.afterId, k.statuses]);
}

function countKey(k: Omit<TicketPageKey, 'first' | 'afterId'>): string {
  return JSON.stringify([k.parent, k.parentId, k.statuses]);
}
