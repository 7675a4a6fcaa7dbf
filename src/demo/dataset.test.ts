import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { normalizePhone, normalizeSerial } from '../identity/normalize';
import { isAllowedTransition } from '../tickets/rules';
import { nextTicketNumber } from '../tickets/ticket-number';
import { OPEN_STATUSES, TicketPriority, TicketStatus } from '../tickets/ticket-enums';
import { useTestDatabase } from '../../tests/support/databases';
import {
  DEMO_FIRST_MODEL, DEMO_FIRST_NAME, DEMO_FIRST_PHONE, DEMO_FIRST_TICKET, DEMO_NOW, DEMO_TODAY, DEMO_WAREHOUSES,
  DemoDataset, generateDemoDataset,
} from './dataset';
import { DemoSummary, loadDemoData } from './load';

const TABLES = [
  'customer', 'device', 'telemetry', 'purchase', 'spare_part', 'part_compatibility', 'stock', 'ticket', 'ticket_event',
  'ticket_number_counter', 'source_link', 'audit_log', 'data_issue',
];

/** Row count and a hash of every row's full text, per table. */
async function snapshot(orm: MikroORM): Promise<Record<string, { n: number; h: string }>> {
  const out: Record<string, { n: number; h: string }> = {};
  for (const table of TABLES) {
    const [row] = await sqlRows<{ n: number; h: string }>(
      orm,
      `select count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from "${table}" x`,
    );
    out[table] = { n: Number(row.n), h: row.h };
  }
  return out;
}

async function countOf(orm: MikroORM, table: string): Promise<number> {
  const [row] = await sqlRows<{ n: number }>(orm, `select count(*)::int as n from "${table}"`);
  return Number(row.n);
}

describe('demo data set: generation', () => {
  it('is deterministic and independent of the clock and Math.random', () => {
    const random = jest.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('demo generation must not use Math.random');
    });
    jest.useFakeTimers({ now: new Date('2031-07-04T23:59:59Z') });
    let a: DemoDataset;
    try {
      a = generateDemoDataset();
    } finally {
      jest.useRealTimers();
      random.mockRestore();
    }
    const b = generateDemoDataset();
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(generateDemoDataset(7)).not.toEqual(a);
  });

  it('has the advertised shape', () => {
    const ds = generateDemoDataset();
    expect(ds.customers).toHaveLength(40);
    expect(ds.devices).toHaveLength(80);
    expect(ds.tickets).toHaveLength(150);
    expect(new Set(ds.customers.map((c) => c.phone)).size).toBe(40);
    expect(new Set(ds.devices.map((d) => d.serial)).size).toBe(80);
    expect(new Set(ds.tickets.map((t) => t.number)).size).toBe(150);
    // Raw phones and serials really are written in mixed forms.
    expect(new Set(ds.customers.map((c) => c.rawPhone.replace(/\d/g, '9'))).size).toBeGreaterThanOrEqual(6);
    expect(ds.customers.some((c) => /[\uFF10-\uFF19]/.test(c.rawPhone))).toBe(true);
    expect(ds.devices.filter((d) => d.rawSerial !== d.serial).length).toBeGreaterThan(40);
    for (const c of ds.customers) expect(normalizePhone(c.rawPhone)).toBe(c.phone);
    for (const d of ds.devices) expect(normalizeSerial(d.rawSerial)).toBe(d.serial);
    // Every instant is in the demo's past.
    for (const t of ds.tickets) for (const e of t.events) expect(e.at <= DEMO_NOW).toBe(true);
    // Samples: the first customer's phone in several forms, all the same number.
    expect(ds.samples.phoneFormats.length).toBeGreaterThanOrEqual(4);
    expect(new Set(ds.samples.phoneFormats).size).toBe(ds.samples.phoneFormats.length);
    for (const f of ds.samples.phoneFormats) expect(normalizePhone(f)).toBe(DEMO_FIRST_PHONE);
  });
});

describe('demo data set: loading', () => {
  const db = useTestDatabase();
  let ds: DemoDataset;
  let summary: DemoSummary;

  beforeAll(async () => {
    ds = generateDemoDataset();
    summary = await loadDemoData(db.orm);
  });

  it('writes every record and reports the counts', async () => {
    expect(summary.alreadyLoaded).toBe(false);
    expect(summary.inserted).toEqual(summary.total);
    expect(summary.total).toMatchObject({ customers: 40, devices: 80, tickets: 150, purchases: 80 });
    expect(summary.total.telemetry).toBeGreaterThan(60);
    expect(summary.total.spareParts).toBeGreaterThanOrEqual(15);
    expect(summary.total.dataIssues).toBeGreaterThanOrEqual(1);
    expect(summary.total.ticketEvents).toBeGreaterThan(150);
    const stored = {
      customers: await countOf(db.orm, 'customer'),
      devices: await countOf(db.orm, 'device'),
      telemetry: await countOf(db.orm, 'telemetry'),
      purchases: await countOf(db.orm, 'purchase'),
      spareParts: await countOf(db.orm, 'spare_part'),
      partCompatibility: await countOf(db.orm, 'part_compatibility'),
      stock: await countOf(db.orm, 'stock'),
      tickets: await countOf(db.orm, 'ticket'),
      ticketEvents: await countOf(db.orm, 'ticket_event'),
      ticketAudit: await countOf(db.orm, 'audit_log'),
      sourceLinks: await countOf(db.orm, 'source_link'),
      dataIssues: await countOf(db.orm, 'data_issue'),
      ticketCounters: await countOf(db.orm, 'ticket_number_counter'),
    };
    expect(stored).toEqual(summary.total);
    expect(summary.samples).toEqual(ds.samples);
  });

  it('has tickets in every status and every priority', async () => {
    const rows = await sqlRows<{ status: string; n: number }>(db.orm, `select status, count(*)::int as n from ticket group by status`);
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    for (const s of Object.values(TicketStatus)) expect(byStatus[s]).toBeGreaterThan(0);
    const pr = await sqlRows<{ priority: string }>(db.orm, `select distinct priority from ticket`);
    expect(pr.map((r) => r.priority).sort()).toEqual(Object.values(TicketPriority).sort());
    const cats = await sqlRows<{ n: number }>(
      db.orm,
      `select count(*)::int as n from ticket where category_l1 is null or category_l2 is null or category_l3 is null or fault = ''`,
    );
    expect(Number(cats[0].n)).toBe(0);
  });

  it('tells the first customer story: 张伟, +8613800138000, ≥3 devices, T20260218-8892 on the KFR-72LW/N8HR3', async () => {
    const [first] = await sqlRows<{ id: string; name: string; tier: string; min_id: string }>(
      db.orm,
      `select c.id, c.name, c.tier, (select min(id) from customer) as min_id from customer c where c.phone = ?`,
      [DEMO_FIRST_PHONE],
    );
    expect(first).toMatchObject({ name: DEMO_FIRST_NAME, tier: 'VIP' });
    expect(String(first.id)).toBe(String(first.min_id));
    const devices = await sqlRows<{ model: string; serial: string }>(db.orm, `select model, serial from device where owner_id = ? order by id`, [first.id]);
    expect(devices.length).toBeGreaterThanOrEqual(3);
    expect(devices.map((d) => d.model)).toContain(DEMO_FIRST_MODEL);
    expect(devices[0].serial).toBe(summary.samples.serial);

    const [ticket] = await sqlRows<{ customer_id: string; model: string; serial: string; status: string; category_l1: string }>(
      db.orm,
      `select t.customer_id, d.model, d.serial, t.status, t.category_l1 from ticket t join device d on d.id = t.device_id where t.number = ?`,
      [DEMO_FIRST_TICKET],
    );
    expect(String(ticket.customer_id)).toBe(String(first.id));
    expect(ticket.model).toBe(DEMO_FIRST_MODEL);
    expect(ticket.category_l1).toBe('空调');
    expect(summary.samples.ticketNumber).toBe(DEMO_FIRST_TICKET);

    const [open] = await sqlRows<{ status: string; serial: string; alerts: string[] }>(
      db.orm,
      `select t.status, d.serial, m.alerts from ticket t join device d on d.id = t.device_id join telemetry m on m.device_id = d.id
       where t.number = ?`,
      [summary.samples.openTicketNumber],
    );
    expect(OPEN_STATUSES).toContain(open.status);
    expect(open.serial).toBe(summary.samples.serial);
    expect(open.alerts).toContain('E1');

    const [order] = await sqlRows<{ n: number }>(
      db.orm,
      `select count(*)::int as n from purchase p join device d on d.id = p.device_id
       where p.order_number = ? and d.serial = ? and p.customer_id = ?`,
      [summary.samples.orderNumber, summary.samples.serial, first.id],
    );
    expect(Number(order.n)).toBe(1);
  });

  it('stores only E.164 phones and normalized serials', async () => {
    const phones = await sqlRows<{ phone: string }>(db.orm, `select phone from customer`);
    expect(phones).toHaveLength(40);
    for (const { phone } of phones) {
      expect(phone).toMatch(/^\+861\d{10}$/);
      expect(normalizePhone(phone)).toBe(phone);
    }
    const serials = await sqlRows<{ serial: string }>(db.orm, `select serial from device`);
    expect(serials).toHaveLength(80);
    for (const { serial } of serials) expect(normalizeSerial(serial)).toBe(serial);
  });

  it('keeps each ticket history consistent with its status, fields and version', async () => {
    const tickets = await sqlRows<any>(
      db.orm,
      `select id, number, status, solution, blocking_reason, resolved_at, closed_at, eta, version, created_at, created_by, updated_at
       from ticket order by id`,
    );
    const events = await sqlRows<any>(
      db.orm,
      `select ticket_id, type, from_status, to_status, origin, actor, at, changes from ticket_event order by ticket_id, id`,
    );
    const byTicket = new Map<string, any[]>();
    for (const e of events) {
      const list = byTicket.get(String(e.ticket_id)) ?? [];
      list.push(e);
      byTicket.set(String(e.ticket_id), list);
    }
    const now = new Date(DEMO_NOW).getTime();
    for (const t of tickets) {
      const history = byTicket.get(String(t.id)) ?? [];
      const where = `ticket ${t.number}`;
      expect([where, history.length > 0]).toEqual([where, true]);
      const [created, ...changes] = history;
      expect([where, created.type, created.from_status, created.to_status]).toEqual([where, 'CREATED', null, 'NEW']);
      expect(new Date(created.at).getTime()).toBe(new Date(t.created_at).getTime());
      expect(created.actor).toBe(t.created_by);
      let status = 'NEW';
      let last = new Date(created.at).getTime();
      for (const e of changes) {
        expect([where, e.type, e.from_status]).toEqual([where, 'STATUS_CHANGED', status]);
        expect([where, status, e.to_status, isAllowedTransition(status as TicketStatus, e.to_status)]).toEqual([where, status, e.to_status, true]);
        expect(e.changes.status).toEqual({ before: status, after: e.to_status });
        const at = new Date(e.at).getTime();
        expect(at).toBeGreaterThanOrEqual(last);
        last = at;
        status = e.to_status;
      }
      expect([where, status]).toEqual([where, t.status]);
      expect(last).toBeLessThanOrEqual(now);
      expect(new Date(t.updated_at).getTime()).toBe(last);
      expect(history.every((e) => e.origin === 'demo')).toBe(true);
      expect(t.version).toBe(history.length);

      const resolvedOrClosed = t.status === 'RESOLVED' || t.status === 'CLOSED';
      expect([where, Boolean(t.solution), Boolean(t.resolved_at)]).toEqual([where, resolvedOrClosed, resolvedOrClosed]);
      expect([where, Boolean(t.closed_at)]).toEqual([where, t.status === 'CLOSED']);
      expect([where, Boolean(t.blocking_reason)]).toEqual([where, t.status === 'PENDING']);
      if (t.status === 'PENDING') expect(new Date(t.eta).getTime()).toBeGreaterThan(now);
      if (resolvedOrClosed) {
        const resolved = history.find((e) => e.to_status === 'RESOLVED');
        expect(new Date(resolved.at).getTime()).toBe(new Date(t.resolved_at).getTime());
      }
    }
    const [audit] = await sqlRows<{ n: number }>(
      db.orm,
      `select count(*)::int as n from audit_log a join ticket t on t.id = a.entity_id where a.entity_type = 'ticket' and a.origin = 'demo'`,
    );
    expect(Number(audit.n)).toBe(summary.total.ticketAudit);
  });

  it('links every record to where it came from, with per-field lineage', async () => {
    const missing = await sqlRows<{ what: string; n: number }>(
      db.orm,
      `select 'customer' as what, count(*)::int as n from customer c where not exists (
         select 1 from source_link s where s.entity_type = 'customer' and s.entity_id = c.id and s.system = 'crm' and s.stream = 'accounts'
           and s.external_id = junction_field_lineage(c.lineage, 'name') ->> 'externalId')
       union all
       select 'device', count(*)::int from device d where not exists (
         select 1 from source_link s where s.entity_type = 'device' and s.entity_id = d.id and s.system = 'erp' and s.stream = 'serials'
           and s.external_id = junction_field_lineage(d.lineage, 'model') ->> 'externalId')
       union all
       select 'purchase', count(*)::int from purchase p where not exists (
         select 1 from source_link s where s.entity_type = 'purchase' and s.entity_id = p.id and s.system = 'erp' and s.stream = 'sales_orders'
           and s.external_id = junction_field_lineage(p.lineage, 'amount') ->> 'externalId')
       union all
       select 'telemetry', count(*)::int from telemetry m where not exists (
         select 1 from source_link s where s.entity_type = 'device' and s.entity_id = m.device_id and s.system = 'iot' and s.stream = 'devices'
           and s.external_id = junction_field_lineage(m.lineage, 'online') ->> 'externalId')
       union all
       select 'lineage', count(*)::int from customer c where junction_field_lineage(c.lineage, 'name') ->> 'system' is distinct from 'crm'
         or junction_field_lineage(c.lineage, 'name') ->> 'stream' is distinct from 'accounts' or (junction_field_lineage(c.lineage, 'name') ->> 'at') is null`,
    );
    expect(Object.fromEntries(missing.map((r) => [r.what, Number(r.n)]))).toEqual({ customer: 0, device: 0, purchase: 0, telemetry: 0, lineage: 0 });
    const [first] = await sqlRows<{ external_id: string }>(
      db.orm,
      `select s.external_id from source_link s join customer c on c.id = s.entity_id
       where s.entity_type = 'customer' and s.system = 'crm' and c.phone = ?`,
      [DEMO_FIRST_PHONE],
    );
    expect(first.external_id).toMatch(/^001[0-9A-Za-z]{15}$/);
  });

  it('has parts with model (and firmware) compatibility and stock in the demo warehouses', async () => {
    const compat = await sqlRows<{ model: string; firmware_prefix: string; name: string }>(
      db.orm,
      `select pc.model, pc.firmware_prefix, s.name from part_compatibility pc join spare_part s on s.id = pc.part_id`,
    );
    expect(compat.some((c) => c.model === DEMO_FIRST_MODEL && c.name === '压缩机')).toBe(true);
    expect(compat.some((c) => c.firmware_prefix !== '')).toBe(true);
    const stock = await sqlRows<{ warehouse: string; parts: number }>(
      db.orm,
      `select warehouse, count(distinct part_id)::int as parts from stock group by warehouse`,
    );
    for (const s of stock) expect(DEMO_WAREHOUSES).toContain(s.warehouse);
    expect(stock.length).toBeGreaterThanOrEqual(2);
    const [thin] = await sqlRows<{ n: number }>(
      db.orm,
      `select count(*)::int as n from spare_part p where (select count(*) from stock s where s.part_id = p.id) < 2`,
    );
    expect(Number(thin.n)).toBe(0);
    const [warranty] = await sqlRows<{ expired: number; valid: number }>(
      db.orm,
      `select count(*) filter (where warranty_end < ?::date)::int as expired, count(*) filter (where warranty_end >= ?::date)::int as valid
       from device`,
      [DEMO_TODAY, DEMO_TODAY],
    );
    expect(Number(warranty.expired)).toBeGreaterThan(0);
    expect(Number(warranty.valid)).toBeGreaterThan(0);
  });

  it('records an open name mismatch between CRM and ERP, with evidence', async () => {
    const [issue] = await sqlRows<{ state: string; entity_type: string; entity_id: string; evidence: any; phone: string }>(
      db.orm,
      `select i.state, i.entity_type, i.entity_id, i.evidence, c.phone from data_issue i join customer c on c.id = i.entity_id
       where i.kind = 'NAME_MISMATCH'`,
    );
    expect(issue.state).toBe('OPEN');
    expect(issue.entity_type).toBe('customer');
    const values = issue.evidence.values as { system: string; value: string }[];
    expect(values.map((v) => v.system).sort()).toEqual(['crm', 'erp']);
    expect(values[0].value).not.toBe(values[1].value);
  });

  it('sets ticket counters so tickets opened later on a demo day get fresh numbers', async () => {
    const [behind] = await sqlRows<{ n: number }>(
      db.orm,
      `select count(*)::int as n from ticket t where not exists (
         select 1 from ticket_number_counter c
         where c.day = to_date(substr(t.number, 2, 8), 'YYYYMMDD') and c.last >= substr(t.number, 11)::int)`,
    );
    expect(Number(behind.n)).toBe(0);
    // The real numbering path, rolled back so the data stays as loaded.
    let next = '';
    await expect(
      db.orm.em.fork().transactional(async (em) => {
        next = await nextTicketNumber(em as any, new Date('2026-02-18T06:00:00Z'));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(next).toMatch(/^T20260218-\d{4,}$/);
    expect(Number(next.slice(10))).toBeGreaterThan(8892);
    expect(ds.tickets.map((t) => t.number)).not.toContain(next);
  });

  it('changes nothing when run again', async () => {
    const before = await snapshot(db.orm);
    const again = await loadDemoData(db.orm);
    expect(again.alreadyLoaded).toBe(true);
    expect(Object.values(again.inserted).every((n) => n === 0)).toBe(true);
    expect(await snapshot(db.orm)).toEqual(before);
  });

  it('rolls back everything when one record cannot be placed', async () => {
    const before = await snapshot(db.orm);
    const broken = generateDemoDataset();
    const newcomer = { ...broken.customers[1], phone: '+8613912345678', rawPhone: '13912345678', crmId: '0015g00000ZZZZZZZZ' };
    broken.customers.push(newcomer);
    broken.devices.push({ ...broken.devices[5], serial: 'ORPHAN0001', ownerPhone: '+8613000000000' });
    await expect(loadDemoData(db.orm, broken)).rejects.toThrow(/incomplete.*devices: 80 of 81/);
    expect(await snapshot(db.orm)).toEqual(before);
  });
});

describe('demo data set: concurrent loads', () => {
  const db = useTestDatabase();

  it('two loaders started together leave exactly one copy', async () => {
    const [a, b] = await Promise.all([loadDemoData(db.orm), loadDemoData(db.orm)]);
    expect([a.alreadyLoaded, b.alreadyLoaded].sort()).toEqual([false, true]);
    expect(a.inserted.tickets + b.inserted.tickets).toBe(150);
    expect(await countOf(db.orm, 'customer')).toBe(40);
    expect(await countOf(db.orm, 'ticket')).toBe(150);
    expect(await countOf(db.orm, 'ticket_event')).toBe(a.total.ticketEvents);
  });
});
