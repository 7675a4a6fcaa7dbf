import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { textArray } from '../graph/loaders';
import type { ParsedRow } from './reader';
import type { ExcelTemplate } from './template';

/**
 * What master data knows about a device (by normalized serial) or a customer (by E.164 phone).
 * The look-ups are an index probe per key (`lateral … limit 1`; serial and phone are unique): as
 * `= any(…)` joined to the owner, the planner hashed a scan of the whole customer table for every
 * batch (at 100k rows already), a cost that grows with the table.
 */
type Attributes = Record<string, unknown>;

async function devices(db: MikroORM | EntityManager, serials: string[]): Promise<Map<string, Attributes>> {
  if (!serials.length) return new Map();
  const rows = await sqlRows<any>(db,
    `select d.serial, d.model, d.firmware, to_char(d.purchase_date, 'YYYY-MM-DD') as purchase_date, to_char(d.warranty_end, 'YYYY-MM-DD') as warranty_end,
            c.phone as owner_phone, c.name as owner_name
       from unnest(?::text[]) k(serial)
       cross join lateral (select * from device x where x.serial = k.serial limit 1) d
       left join lateral (select phone, name from customer y where y.id = d.owner_id limit 1) c on true`, [textArray(serials)]);
  return new Map(rows.map((r) => [r.serial, {
    model: r.model, firmware: r.firmware, purchaseDate: r.purchase_date, warrantyEnd: r.warranty_end, ownerPhone: r.owner_phone, ownerName: r.owner_name,
  }]));
}

async function customers(db: MikroORM | EntityManager, phones: string[]): Promise<Map<string, Attributes>> {
  if (!phones.length) return new Map();
  const rows = await sqlRows<any>(db, `select c.phone, c.name, c.tier, c.region from unnest(?::text[]) k(phone)
    cross join lateral (select phone, name, tier, region from customer x where x.phone = k.phone limit 1) c`, [textArray(phones)]);
  return new Map(rows.map((r) => [r.phone, { name: r.name, tier: r.tier, region: r.region }]));
}

export interface FillResult {
  /** Per row (same order): the fields filled from master data. */
  filled: string[][];
  /** Per row: whether each lookup found its record (tickets check the customer exists). */
  found: Array<Partial<Record<'device' | 'customer', Attributes | null>>>;
}

/**
 * Fills the empty values of rows from master data, as the template's `fill` rules say (e.g. a
 * known serial gives model, warranty and the owner's phone; a phone gives the customer's name).
 * One query per rule for the whole batch. Rows with errors are left alone.
 */
export async function fillFromMasterData(db: MikroORM | EntityManager, t: ExcelTemplate, rows: ParsedRow[]): Promise<FillResult> {
  const filled: string[][] = rows.map(() => []);
  const found: FillResult['found'] = rows.map(() => ({}));
  for (const rule of t.fill ?? []) {
    const keys = [...new Set(rows.filter((r) => !r.errors.length && typeof r.fields[rule.by] === 'string').map((r) => r.fields[rule.by] as string))];
    const known = rule.lookup === 'device' ? await devices(db, keys) : await customers(db, keys);
    rows.forEach((r, i) => {
      if (r.errors.length) return;
      const key = r.fields[rule.by];
      if (typeof key !== 'string') return;
      const attrs = known.get(key) ?? null;
      found[i][rule.lookup] = attrs;
      if (!attrs) return;
      for (const [field, attr] of Object.entries(rule.set)) {
        const v = attrs[attr];
        if ((r.fields[field] === null || r.fields[field] === undefined) && v !== null && v !== undefined) {
          r.fields[field] = v;
          filled[i].push(field);
        }
      }
    });
  }
  return { filled, found };
}
