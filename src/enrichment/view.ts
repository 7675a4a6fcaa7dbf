import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { idArray } from '../graph/loaders';

/**
 * The unified view `mappings/ticket/enrich.jsonata` reads, for many tickets in one statement:
 * the ticket, its customer, device (or the reported model), ERP purchase lines, IoT telemetry,
 * the customer's or device's open CRM complaints, and the spare parts that fit the model and
 * firmware with stock per warehouse. Each golden record brings its field lineage.
 */
const VIEW_SQL = `
select t.id, json_build_object(
  'ticket', json_build_object('number', t.number, 'fault', t.fault, 'model', t.model, 'reportedSerial', t.reported_serial,
    'category', json_build_object('level1', t.category_l1, 'level2', t.category_l2, 'level3', t.category_l3)),
  'customer', (select json_build_object('id', c.id::text, 'phone', c.phone, 'name', c.name, 'tier', c.tier, 'region', c.region, 'lineage', junction_lineage(c.lineage))
                 from customer c where c.id = t.customer_id),
  'device', case when d.id is null then null else json_build_object('id', d.id::text, 'serial', d.serial, 'model', d.model, 'firmware', d.firmware,
                 'purchaseDate', d.purchase_date, 'warrantyEnd', d.warranty_end, 'lineage', junction_lineage(d.lineage)) end,
  'purchases', coalesce((select json_agg(json_build_object('orderNumber', p.order_number, 'lineNo', p.line_no, 'model', p.model,
                 'orderedAt', p.ordered_at, 'lineage', junction_lineage(p.lineage)) order by p.ordered_at nulls last, p.id)
                 from purchase p where p.device_id = t.device_id), '[]'::json),
  'telemetry', (select json_build_object('online', tm.online, 'lastSeenAt', tm.last_seen_at, 'runCount', tm.run_count, 'alerts', tm.alerts, 'lineage', junction_lineage(tm.lineage))
                 from telemetry tm where tm.device_id = t.device_id),
  'complaints', coalesce((select json_agg(json_build_object('caseNumber', k.case_number, 'subject', k.subject, 'openedAt', k.opened_at, 'lineage', junction_lineage(k.lineage))
                 order by k.opened_at nulls last, k.id)
                 from complaint k where k.status = 'OPEN' and (k.customer_id = t.customer_id or k.device_id = t.device_id)), '[]'::json),
  'parts', coalesce((select json_agg(json_build_object('code', sp.code, 'name', sp.name,
                 'stock', coalesce((select json_agg(json_build_object('warehouse', s.warehouse, 'quantity', s.quantity) order by s.warehouse)
                                      from stock s where s.part_id = sp.id), '[]'::json),
                 'lineage', json_build_object('system', 'erp', 'stream', 'inventory', 'at', (select max(s.updated_at) from stock s where s.part_id = sp.id)))
                 order by sp.code)
                 from spare_part sp where sp.id in (select pc.part_id from part_compatibility pc
                   where pc.model = coalesce(d.model, t.model)
                     and (pc.firmware_prefix = '' or coalesce(d.firmware, '') like pc.firmware_prefix || '%'))), '[]'::json)
) as view
from ticket t left join device d on d.id = t.device_id
where t.id = any(?::bigint[])`;

export async function loadViews(db: MikroORM | EntityManager, ticketIds: string[]): Promise<Map<string, unknown>> {
  if (!ticketIds.length) return new Map();
  const rows = await sqlRows<{ id: string; view: unknown }>(db, VIEW_SQL, [idArray(ticketIds)]);
  return new Map(rows.map((r) => [String(r.id), r.view]));
}
