import type { EntityManager } from '@mikro-orm/postgresql';
import { sqlOne } from '../db/sql';

/**
 * Next ticket number for a day: T<yyyymmdd>-<n>, n from a per-day counter row (atomic upsert,
 * so concurrent creators never collide), at least four digits.
 */
export async function nextTicketNumber(em: EntityManager, now: Date): Promise<string> {
  const day = now.toISOString().slice(0, 10);
  const row = await sqlOne<{ last: number }>(
    em,
    `insert into ticket_number_counter (day, last) values (?, 1)
     on conflict (day) do update set last = ticket_number_counter.last + 1
     returning last`,
    [day],
  );
  return `T${day.replace(/-/g, '')}-${String(row!.last).padStart(4, '0')}`;
}
