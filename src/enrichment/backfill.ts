import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { textArray } from '../graph/loaders';
import { OPEN_STATUSES } from '../tickets/ticket-enums';
import type { EnrichActor, TicketEnricher } from './enricher';

/**
 * Re-derives every open ticket, in keyset batches of `batch` (one transaction each): for tickets
 * created before enrichment existed (demo data, an upgrade) or after a new enrich.jsonata. Changed
 * ones get their ENRICHED event and audit like any re-enrichment. Returns how many changed.
 */
export async function enrichOpenTickets(orm: MikroORM, enricher: TicketEnricher, actor: EnrichActor, batch = 500): Promise<{ checked: number; changed: number }> {
  let afterId = '0';
  let checked = 0;
  let changed = 0;
  for (;;) {
    const rows = await sqlRows<{ id: string }>(orm,
      `select id from ticket where status = any(?::text[]) and id > ? order by id limit ?`, [textArray(OPEN_STATUSES), afterId, batch]);
    if (!rows.length) break;
    afterId = String(rows[rows.length - 1].id);
    checked += rows.length;
    changed += (await orm.em.fork().transactional((em) => enricher.refresh(em, rows.map((r) => String(r.id)), actor))).length;
  }
  return { checked, changed };
}
