/**
 * Scopes: the slice of the unified view a rule looks at, gathered by one set-based statement
 * per rule run. Each row is one candidate: the entity a finding would be about, the key that
 * makes its fingerprint, and `view` (a JSON object of the values each system holds) that the
 * rule's JSONata predicate and message read. The SQL narrows with the rule's thresholds where it
 * can (so a big table is not shipped to JSONata); the predicate has the last word.
 *
 * Keep `view` free of values that change by themselves (ages, "hours ago"): it becomes the
 * finding's evidence, and changed evidence reopens a finding a person acknowledged or ignored.
 */

export interface ThresholdSpec {
  min: number;
  max: number;
  integer?: boolean;
  description: string;
}

export interface Scope {
  /** What the findings are about (data_issue.entity_type). */
  entityType: string;
  description: string;
  /** Thresholds a rule over this scope must give, with their allowed ranges. */
  thresholds: Record<string, ThresholdSpec>;
  /** One statement: rows of { entity_type, entity_id, key, view }. */
  query(thresholds: Record<string, number>, now: Date): { sql: string; params: unknown[] };
}

const OPEN = `('NEW', 'ASSIGNED', 'IN_PROGRESS', 'PENDING')`;

export const SCOPES: Record<string, Scope> = {
  ticket_complaint: {
    entityType: 'ticket',
    description:
      'Open CRM complaints with the ticket they belong to: the ticket the case names (complaint.ticket_number), else the ' +
      "customer's first ticket opened at or after the complaint, within pairWithinHours, on the same device when both name one.",
    thresholds: { pairWithinHours: { min: 1, max: 720, integer: true, description: 'how long after a complaint its ticket may be opened to be paired by customer' } },
    query: (th) => ({
      sql: `select 'ticket' as entity_type, t.id as entity_id, t.number as key,
          jsonb_build_object(
            'junction', jsonb_build_object('ticket', t.number, 'status', t.status, 'resolvedAt', t.resolved_at, 'closedAt', t.closed_at),
            'crm', jsonb_build_object('caseNumber', c.case_number, 'status', c.status, 'openedAt', c.opened_at, 'externalId', l.external_id),
            'pairedBy', m.paired_by) as view
        from complaint c
        cross join lateral (
          select t.id, 'ticketNumber' as paired_by from ticket t where t.number = c.ticket_number
          union all
          (select t.id, 'customer' from ticket t
            where c.ticket_number is null and t.customer_id = c.customer_id
              and t.created_at >= c.opened_at and t.created_at < c.opened_at + make_interval(hours => ?::int)
              and (c.device_id is null or t.device_id is null or t.device_id = c.device_id)
            order by t.created_at, t.id limit 1)
        ) m
        join ticket t on t.id = m.id
        left join lateral (select external_id from source_link where entity_type = 'complaint' and entity_id = c.id order by id limit 1) l on true
        where c.status = 'OPEN'
        order by t.id, c.id`,
      params: [th.pairWithinHours],
    }),
  },

  ticket_warranty: {
    entityType: 'ticket',
    description:
      "Open tickets on a device whose told warranty end (derived.told.warrantyEnd, set at creation) is not written as the device's warranty end, " +
      'with where that came from (the predicate applies the tolerance).',
    thresholds: { toleranceDays: { min: 0, max: 366, integer: true, description: 'days of difference still taken as the same date' } },
    query: () => ({
      sql: `select 'ticket' as entity_type, t.id as entity_id, t.number as key,
          jsonb_build_object(
            'ticket', jsonb_build_object('number', t.number, 'status', t.status, 'toldWarrantyEnd', (t.derived->'told'->>'warrantyEnd')),
            'device', jsonb_build_object('serial', d.serial, 'warrantyEnd', d.warranty_end::text,
              'system', junction_field_lineage(d.lineage, 'warrantyEnd')->>'system', 'externalId', junction_field_lineage(d.lineage, 'warrantyEnd')->>'externalId')) as view
        from ticket t join device d on d.id = t.device_id
        where t.status in ${OPEN} and (t.derived->'told'->>'warrantyEnd') is not null and (t.derived->'told'->>'warrantyEnd') is distinct from d.warranty_end::text
        order by t.id`,
      params: [],
    }),
  },

  device_owners: {
    entityType: 'device',
    description:
      'Devices that more than one customer claims: the golden owner (with the system it came from), ERP purchase lines and CRM complaints naming the device.',
    thresholds: { minOwners: { min: 2, max: 20, integer: true, description: 'distinct customers that make a finding' } },
    query: (th) => ({
      sql: `with claims as (
            select d.id as device_id, d.owner_id as customer_id, coalesce(junction_field_lineage(d.lineage, 'owner')->>'system', 'junction') as system,
                   'owner' as via, junction_field_lineage(d.lineage, 'owner')->>'externalId' as external_id
              from device d where d.owner_id is not null
            union
            select p.device_id, p.customer_id, 'erp', 'purchase', p.order_number || '-' || p.line_no
              from purchase p where p.device_id is not null and p.customer_id is not null
            union
            select c.device_id, c.customer_id, 'crm', 'complaint', c.case_number
              from complaint c where c.device_id is not null and c.customer_id is not null
          ), multi as (
            select device_id from claims group by device_id having count(distinct customer_id) >= ?
          )
          select 'device' as entity_type, d.id as entity_id, d.serial as key,
            jsonb_build_object('serial', d.serial, 'model', d.model,
              'claims', jsonb_agg(jsonb_build_object('system', cl.system, 'via', cl.via, 'externalId', cl.external_id,
                'customerId', cu.id::text, 'phone', cu.phone, 'name', cu.name) order by cl.system, cl.via, cl.external_id, cu.id)) as view
          from multi m join device d on d.id = m.device_id join claims cl on cl.device_id = d.id join customer cu on cu.id = cl.customer_id
          group by d.id order by d.id`,
      params: [th.minOwners],
    }),
  },

  customer_sources: {
    entityType: 'customer',
    description:
      'Customers linked to records of at least two systems, with each linked source record as the source delivered it (the rule reads the name out of it).',
    thresholds: { minNames: { min: 2, max: 20, integer: true, description: 'distinct names that make a finding' } },
    query: () => ({
      sql: `with linked as (
            select l.entity_id as customer_id, l.system, l.stream, l.external_id, r.payload
              from source_link l join source_record r on r.stream = l.stream and r.external_id = l.external_id
             where l.entity_type = 'customer'
          ), multi as (
            select customer_id from linked group by customer_id having count(distinct system) >= 2
          )
          select 'customer' as entity_type, c.id as entity_id, c.phone as key,
            jsonb_build_object('phone', c.phone, 'golden', c.name,
              'sources', jsonb_agg(jsonb_build_object('system', k.system, 'stream', k.stream, 'externalId', k.external_id, 'record', k.payload)
                order by k.system, k.stream, k.external_id)) as view
          from multi m join customer c on c.id = m.customer_id join linked k on k.customer_id = c.id
          group by c.id order by c.id`,
      params: [],
    }),
  },

  iot_devices: {
    entityType: 'device',
    description: 'Devices that report to IoT (an IoT source link or telemetry), with what the ERP knows of them (purchase lines, ERP source links).',
    thresholds: {},
    query: () => ({
      sql: `select 'device' as entity_type, d.id as entity_id, d.serial as key,
          jsonb_build_object('serial', d.serial, 'model', d.model,
            'iot', jsonb_build_object('telemetry', tm.device_id is not null,
              'externalIds', coalesce((select jsonb_agg(l.external_id order by l.external_id) from source_link l
                                        where l.entity_type = 'device' and l.entity_id = d.id and l.system = 'iot'), '[]'::jsonb)),
            'erp', jsonb_build_object(
              'purchases', (select count(*) from purchase p where p.device_id = d.id),
              'links', (select count(*) from source_link l where l.entity_type = 'device' and l.entity_id = d.id and l.system = 'erp'))) as view
        from device d left join telemetry tm on tm.device_id = d.id
        where (tm.device_id is not null
               or exists (select 1 from source_link l where l.entity_type = 'device' and l.entity_id = d.id and l.system = 'iot'))
          and not exists (select 1 from purchase p where p.device_id = d.id)
          and not exists (select 1 from source_link l where l.entity_type = 'device' and l.entity_id = d.id and l.system = 'erp')
        order by d.id`,
      params: [],
    }),
  },

  open_tickets_idle: {
    entityType: 'ticket',
    description: 'Open tickets whose last change (history entry, else update) is at least stalledHours old.',
    thresholds: { stalledHours: { min: 1, max: 2160, integer: true, description: 'hours without an update that make an open ticket stalled' } },
    query: (th, now) => ({
      sql: `select 'ticket' as entity_type, t.id as entity_id, t.number as key,
          jsonb_build_object('number', t.number, 'status', t.status, 'priority', t.priority,
            'lastUpdateAt', coalesce(e.last_at, t.updated_at)) as view
        from ticket t cross join lateral (select max(e.at) as last_at from ticket_event e where e.ticket_id = t.id) e
        where t.status in ${OPEN} and coalesce(e.last_at, t.updated_at) <= ?::timestamptz - make_interval(hours => ?::int)
        order by t.id`,
      params: [now.toISOString(), th.stalledHours],
    }),
  },

  open_tickets_past_sla: {
    entityType: 'ticket',
    description: 'Open tickets whose resolution deadline (slaResolveDue) passed more than graceHours ago.',
    thresholds: { graceHours: { min: 0, max: 720, integer: true, description: 'hours past the deadline before it is reported' } },
    query: (th, now) => ({
      sql: `select 'ticket' as entity_type, t.id as entity_id, t.number as key,
          jsonb_build_object('number', t.number, 'status', t.status, 'priority', t.priority, 'slaResolveDue', t.sla_resolve_due) as view
        from ticket t
        where t.status in ${OPEN} and t.sla_resolve_due is not null
          and t.sla_resolve_due <= ?::timestamptz - make_interval(hours => ?::int)
        order by t.id`,
      params: [now.toISOString(), th.graceHours],
    }),
  },

  model_fault_window: {
    entityType: 'model',
    description:
      'Per device model and fault category (level 1/2/3): the tickets that fall in some window of windowDays (both ends included) holding at ' +
      'least minTickets of them (cancelled tickets do not count).',
    thresholds: {
      windowDays: { min: 1, max: 365, integer: true, description: 'length of the window, in days' },
      minTickets: { min: 2, max: 1000, integer: true, description: 'tickets within one window that make a repeat failure' },
    },
    // Two window functions instead of a self-join (linear after the sort): `ahead` counts the
    // tickets in the window each ticket opens; a ticket belongs to a repeat when some window
    // opened at most windowDays before it holds enough (`best`).
    query: (th) => ({
      sql: `with t as (
            select t.id, t.number, t.created_at, d.model, concat_ws(' / ', t.category_l1, t.category_l2, t.category_l3) as category
              from ticket t join device d on d.id = t.device_id
             where t.status <> 'CANCELLED' and d.model is not null and t.category_l1 is not null
          ), counted as (
            select t.*, count(*) over (partition by model, category order by created_at
                                       range between current row and make_interval(days => ?::int) following) as ahead
              from t
          ), marked as (
            select c.*, max(ahead) over (partition by model, category order by created_at
                                         range between make_interval(days => ?::int) preceding and current row) as best
              from counted c
          )
          select 'model' as entity_type, null::bigint as entity_id, m.model || ' | ' || m.category as key,
            jsonb_build_object('model', m.model, 'category', m.category,
              'tickets', jsonb_agg(jsonb_build_object('number', m.number, 'createdAt', m.created_at) order by m.created_at, m.id)) as view
          from marked m where m.best >= ?
          group by m.model, m.category order by m.model, m.category`,
      params: [th.windowDays, th.windowDays, th.minTickets],
    }),
  },
};
