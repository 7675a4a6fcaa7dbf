import DataLoader from 'dataloader';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';

/** Most issues returned per customer (newest first); a customer with more has a data problem of its own. */
export const CUSTOMER_ISSUES_LIMIT = 200;

/**
 * Data issues about a customer, its devices or its tickets — one statement for every customer of
 * a request wave (the per-request DataLoader behind `Customer.dataIssues`). Rows are the raw
 * data_issue rows, newest first.
 */
export function dataIssuesByCustomerLoader(orm: MikroORM): DataLoader<string, any[]> {
  return new DataLoader<string, any[]>(async (ids) => {
    const rows = await sqlRows<any>(orm,
      `select k.customer_id, i.* from unnest(?::bigint[]) k(customer_id)
         cross join lateral (
           select i.* from (
             select i.* from data_issue i where i.entity_type = 'customer' and i.entity_id = k.customer_id
             union
             select i.* from device d join data_issue i on i.entity_type = 'device' and i.entity_id = d.id where d.owner_id = k.customer_id
             union
             select i.* from ticket t join data_issue i on i.entity_type = 'ticket' and i.entity_id = t.id where t.customer_id = k.customer_id
           ) i order by i.id desc limit ?
         ) i`,
      [`{${ids.map((id) => { if (!/^\d{1,19}$/.test(id)) throw new Error(`invalid id ${id}`); return id; }).join(',')}}`, CUSTOMER_ISSUES_LIMIT]);
    const byCustomer = new Map<string, any[]>();
    for (const r of rows) {
      const list = byCustomer.get(String(r.customer_id)) ?? [];
      list.push(r);
      byCustomer.set(String(r.customer_id), list);
    }
    return ids.map((id) => byCustomer.get(id) ?? []);
  });
}
