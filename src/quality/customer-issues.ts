import DataLoader from 'dataloader';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { idArray, textArray } from '../graph/loaders';

/** Most issues returned per customer (newest first); a customer with more has a data problem of its own. */
export const CUSTOMER_ISSUES_LIMIT = 200;

/** A customer's issues, only in these states (empty or absent: every state). */
export interface CustomerIssuesKey {
  customerId: string;
  states?: readonly string[] | null;
}

const statesKey = (states: readonly string[] | null | undefined) => [...new Set(states ?? [])].sort().join(',');

/**
 * Data issues about a customer, its devices or its tickets — one statement per distinct state
 * filter for every customer of a request wave (the per-request DataLoader behind
 * `Customer.dataIssues`). The state filter is applied before the limit, so an OPEN issue is found
 * however many newer settled ones there are. Rows are the raw data_issue rows, newest first.
 */
export function dataIssuesByCustomerLoader(orm: MikroORM): DataLoader<CustomerIssuesKey, any[], string> {
  return new DataLoader<CustomerIssuesKey, any[], string>(async (keys) => {
    const out = new Map<string, any[]>();
    const groups = new Map<string, string[]>();
    for (const k of keys) {
      const s = statesKey(k.states);
      groups.set(s, [...(groups.get(s) ?? []), k.customerId]);
    }
    for (const [states, ids] of groups) {
      const rows = await sqlRows<any>(orm,
        `select k.customer_id, i.* from unnest(?::bigint[]) k(customer_id)
           cross join lateral (
             select i.* from (
               select i.* from data_issue i where i.entity_type = 'customer' and i.entity_id = k.customer_id
               union
               select i.* from device d join data_issue i on i.entity_type = 'device' and i.entity_id = d.id where d.owner_id = k.customer_id
               union
               select i.* from ticket t join data_issue i on i.entity_type = 'ticket' and i.entity_id = t.id where t.customer_id = k.customer_id
             ) i where ?::text[] is null or i.state = any(?::text[])
             order by i.id desc limit ?
           ) i`,
        [idArray([...new Set(ids)]), states ? textArray(states.split(',')) : null, states ? textArray(states.split(',')) : null, CUSTOMER_ISSUES_LIMIT]);
      for (const r of rows) {
        const key = `${r.customer_id}\u0000${states}`;
        out.set(key, [...(out.get(key) ?? []), r]);
      }
    }
    return keys.map((k) => out.get(`${k.customerId}\u0000${statesKey(k.states)}`) ?? []);
  }, { cacheKeyFn: (k) => `${k.customerId}\u0000${statesKey(k.states)}` });
}
