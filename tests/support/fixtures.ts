import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlOne, sqlRows } from '../../src/db/sql';

/** Small hand-made records for gateway tests (set-based SQL, like the real loaders). */
export async function insertCustomer(orm: MikroORM, c: { phone: string; name: string; tier?: string; region?: string }) {
  const row = await sqlOne<{ id: string }>(orm,
    `insert into customer (phone, name, tier, region, lineage) values (?, ?, ?, ?, ?::jsonb) returning id`,
    [c.phone, c.name, c.tier ?? null, c.region ?? null, JSON.stringify({ name: { system: 'crm', stream: 'accounts', externalId: 'A1', at: '2026-01-01T00:00:00Z' } })]);
  return String(row!.id);
}

export async function insertDevice(orm: MikroORM, d: { serial: string; model?: string; firmware?: string; ownerId?: string | null; warrantyEnd?: string; purchaseDate?: string }) {
  const row = await sqlOne<{ id: string }>(orm,
    `insert into device (serial, model, firmware, owner_id, warranty_end, purchase_date) values (?, ?, ?, ?, ?, ?) returning id`,
    [d.serial, d.model ?? 'KFR-72LW/N8HR3', d.firmware ?? 'V2.1.0', d.ownerId ?? null, d.warrantyEnd ?? null, d.purchaseDate ?? null]);
  return String(row!.id);
}

/**
 * A heavy customer: `devices` devices each with telemetry, a purchase line and compatible parts
 * with stock, and `tickets` tickets with two history events each.
 */
export async function insertHeavyCustomer(orm: MikroORM, phone: string, devices: number, tickets: number) {
  const customerId = await insertCustomer(orm, { phone, name: '王大客户', tier: 'VIP', region: '华东' });
  await sqlRows(orm, `insert into device (serial, model, firmware, owner_id, warranty_end)
    select 'HEAVY' || ? || 'X' || g, case when g % 2 = 0 then 'KFR-72LW/N8HR3' else 'DSL-K20 Pro' end, 'V2.' || (g % 3), ?, date '2027-01-01'
    from generate_series(1, ?) g`, [customerId, customerId, devices]);
  await sqlRows(orm, `insert into telemetry (device_id, online, last_seen_at, run_count, alerts)
    select id, id % 2 = 0, now(), id * 10, '["E1"]'::jsonb from device where owner_id = ?`, [customerId]);
  await sqlRows(orm, `insert into purchase (order_number, line_no, customer_id, device_id, model, amount, ordered_at)
    select 'XSDD' || id, 1, owner_id, id, model, 4999.00, date '2025-06-01' from device where owner_id = ?`, [customerId]);
  await sqlRows(orm, `insert into spare_part (code, name) values ('P-COMP', '压缩机'), ('P-LOCK', '锁体') on conflict do nothing`);
  await sqlRows(orm, `insert into part_compatibility (part_id, model, firmware_prefix)
    select id, case code when 'P-COMP' then 'KFR-72LW/N8HR3' else 'DSL-K20 Pro' end, '' from spare_part on conflict do nothing`);
  await sqlRows(orm, `insert into stock (part_id, warehouse, quantity) select id, w, 5 from spare_part, unnest(array['上海仓','广州仓']) w on conflict do nothing`);
  await sqlRows(orm, `insert into ticket (number, customer_id, device_id, status, priority, fault)
    select 'T2026' || lpad(?::text, 4, '0') || '-' || lpad(g::text, 4, '0'), ?, (select min(id) from device where owner_id = ?) , 
           (array['NEW','IN_PROGRESS','RESOLVED','CLOSED','CANCELLED'])[1 + g % 5], 'P2', '不制冷 ' || g
    from generate_series(1, ?) g`, [customerId, customerId, customerId, tickets]);
  await sqlRows(orm, `insert into ticket_event (ticket_id, type, to_status, actor, origin)
    select t.id, e.type, 'NEW', 'test', 'test' from ticket t, unnest(array['CREATED','UPDATED']) e(type) where t.customer_id = ?`, [customerId]);
  return customerId;
}
