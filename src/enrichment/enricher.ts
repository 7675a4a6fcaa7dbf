import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { bulkExecutor } from '../db/sql';
import { idArray, textArray } from '../graph/loaders';
import { logger } from '../logging/logger';
import type { MappingEngine } from '../mapping/engine';
import { sourceCalendarDay } from '../mapping/functions';
import { OPEN_STATUSES } from '../tickets/ticket-enums';
import { IotThreshold, loadThresholds } from './thresholds';
import { loadViews } from './view';

export const ENRICH_MAPPING = 'ticket/enrich';

/** Where one derived value came from: source system, stream and record, the golden field, and when. */
export interface DerivedSource {
  value: string;
  field: string;
  record: string;
  system?: string | null;
  stream?: string | null;
  externalId?: string | null;
  at?: string | null;
}

/**
 * `ticket.derived.told`: what the ticket was told when it was created (today the warranty end). It is
 * never re-derived, so the data check `warranty-end-differs` can compare it with the ERP's value later.
 */
export const TOLD = 'told';

function toldAtCreation(e: Enrichment): Record<string, unknown> | null {
  const end = (e.values.warranty as { end?: string | null } | undefined)?.end ?? null;
  return end ? { warrantyEnd: end } : null;
}

export interface Enrichment {
  values: Record<string, unknown>;
  lineage: DerivedSource[];
}

/** A golden-record change as the sync merge reports it (entity type, id, field). */
export interface TouchedRecord {
  entity: string;
  id: string;
}

export interface EnrichActor {
  name: string;
  origin: string;
}


const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Derives a ticket's enrichment (mappings/ticket/enrich.jsonata over the unified view) and keeps
 * it current: at creation, and again when master data under an open ticket changes, with an
 * ENRICHED history event and one audit row per derived value that changed.
 */
export class TicketEnricher {
  readonly thresholds: IotThreshold[];

  constructor(private readonly engine: MappingEngine, opts: { thresholds?: IotThreshold[]; clock?: () => Date } = {}) {
    // Loaded (and checked) up front: a bad thresholds file stops the process that loads it.
    this.thresholds = opts.thresholds ?? loadThresholds(engine.has(ENRICH_MAPPING) ? engine.root : undefined);
    this.clock = opts.clock ?? (() => new Date());
  }

  private readonly clock: () => Date;

  /** Evaluates the mapping for each ticket; a ticket whose evaluation fails is logged and left out. */
  async derive(db: MikroORM | EntityManager, ticketIds: string[]): Promise<Map<string, Enrichment>> {
    const out = new Map<string, Enrichment>();
    if (!ticketIds.length || !this.engine.has(ENRICH_MAPPING)) return out;
    const views = await loadViews(db, ticketIds);
    const instant = this.clock();
    const now = instant.toISOString();
    const today = sourceCalendarDay(instant);
    for (const [id, view] of views) {
      try {
        const r = (await this.engine.evaluate(ENRICH_MAPPING, view, { now, today, thresholds: this.thresholds })) as Partial<Enrichment> | undefined;
        const lineage = r?.lineage === undefined ? [] : Array.isArray(r.lineage) ? r.lineage : [r.lineage];
        out.set(id, JSON.parse(JSON.stringify({ values: r?.values ?? {}, lineage })));
      } catch (e) {
        logger.warn('ticket enrichment failed', { ticketId: id, code: (e as { code?: string }).code, message: (e as Error).message });
      }
    }
    return out;
  }

  /** At creation (inside its transaction): stores the derived values; the CREATED event is the history. */
  async enrichNew(em: EntityManager, ticketId: string): Promise<Enrichment | null> {
    const e = (await this.derive(em, [ticketId])).get(ticketId) ?? null;
    if (e) await this.store(em, [[ticketId, e]], [toldAtCreation(e)]);
    return e;
  }

  /**
   * Re-derives open tickets (inside the caller's transaction) and stores those whose values changed,
   * each with an ENRICHED event (changes per derived value) and one audit row per changed value.
   * Returns the ids of the tickets that changed.
   */
  async refresh(em: EntityManager, ticketIds: string[], actor: EnrichActor): Promise<string[]> {
    if (!ticketIds.length || !this.engine.has(ENRICH_MAPPING)) return [];
    const exec = bulkExecutor(em);
    const current = await exec<{ id: string; derived: Record<string, unknown> }>(
      `select id, derived from ticket where id = any(?::bigint[]) and status = any(?::text[]) for update`, [idArray(ticketIds), textArray(OPEN_STATUSES)]);
    const fresh = await this.derive(em, current.map((r) => String(r.id)));
    const changed: Array<[string, Enrichment, Record<string, { before: unknown; after: unknown }>]> = [];
    for (const row of current) {
      const next = fresh.get(String(row.id));
      if (!next) continue;
      const changes: Record<string, { before: unknown; after: unknown }> = {};
      for (const key of new Set([...Object.keys(row.derived ?? {}), ...Object.keys(next.values)])) {
        if (key === TOLD) continue;
        const before = row.derived?.[key] ?? null;
        const after = next.values[key] ?? null;
        if (!same(before, after)) changes[key] = { before, after };
      }
      if (Object.keys(changes).length) changed.push([String(row.id), next, changes]);
    }
    if (!changed.length) return [];
    const toldOf = new Map(current.map((r) => [String(r.id), (r.derived?.[TOLD] ?? null) as Record<string, unknown> | null]));
    await this.store(em, changed.map(([id, e]) => [id, e]), changed.map(([id]) => toldOf.get(id) ?? null));
    await exec(
      `insert into ticket_event (ticket_id, type, changes, note, actor, origin)
       select id, 'ENRICHED', changes, 'derived values changed with master data', ?, ? from jsonb_to_recordset(?::jsonb) x(id bigint, changes jsonb)`,
      [actor.name, actor.origin, JSON.stringify(changed.map(([id, , changes]) => ({ id, changes })))],
    );
    const audit = changed.flatMap(([id, , changes]) => Object.entries(changes).map(([key, c]) => ({ id, field: `derived.${key}`, before: c.before, after: c.after })));
    await exec(
      `insert into audit_log (entity_type, entity_id, field, before, after, actor, origin)
       select 'ticket', id, field, before, after, ?, ? from jsonb_to_recordset(?::jsonb) x(id bigint, field text, before jsonb, after jsonb)`,
      [actor.name, actor.origin, JSON.stringify(audit)],
    );
    return changed.map(([id]) => id);
  }

  /**
   * After a merge (sync page or Excel batch, same transaction): re-enriches the open tickets whose
   * customer, device, telemetry, purchases or complaints were among the changed records, or whose
   * model fits a spare part whose stock changed.
   */
  async afterMerge(em: EntityManager, touched: readonly TouchedRecord[], actor: EnrichActor): Promise<string[]> {
    const ids = (entity: string) => [...new Set(touched.filter((t) => t.entity === entity).map((t) => String(t.id)))];
    const customers = ids('customer');
    const devices = [...new Set([...ids('device'), ...ids('telemetry')])];
    const purchases = ids('purchase');
    const complaints = ids('complaint');
    const parts = ids('spare_part'); // stock changes (audited on the part)
    if (!customers.length && !devices.length && !purchases.length && !complaints.length && !parts.length) return [];
    if (!this.engine.has(ENRICH_MAPPING)) return [];
    const exec = bulkExecutor(em);
    const rows = await exec<{ id: string }>(
      `select t.id from ticket t
        where t.status = any(?::text[])
          and (t.customer_id = any(?::bigint[]) or t.device_id = any(?::bigint[])
               or t.device_id in (select device_id from purchase where id = any(?::bigint[]))
               or t.customer_id in (select customer_id from complaint where id = any(?::bigint[]))
               or t.device_id in (select device_id from complaint where id = any(?::bigint[]))
               or coalesce((select d.model from device d where d.id = t.device_id), t.model)
                    in (select pc.model from part_compatibility pc where pc.part_id = any(?::bigint[])))`,
      [textArray(OPEN_STATUSES), idArray(customers), idArray(devices), idArray(purchases), idArray(complaints), idArray(complaints), idArray(parts)],
    );
    return this.refresh(em, rows.map((r) => String(r.id)), actor);
  }

  /** `told[i]`: what ticket i was told at creation, kept as it was whatever master data says later. */
  private async store(em: EntityManager, items: Array<[string, Enrichment]>, told: Array<Record<string, unknown> | null>): Promise<void> {
    // Not a user edit: neither version nor updated_at move, so a portal's expectedVersion stays valid.
    const derived = (e: Enrichment, i: number) => (told[i] ? { ...e.values, [TOLD]: told[i] } : e.values);
    await bulkExecutor(em)(
      `update ticket t set derived = x.derived, derived_lineage = x.lineage, enriched_at = ?::timestamptz
         from jsonb_to_recordset(?::jsonb) x(id bigint, derived jsonb, lineage jsonb) where t.id = x.id`,
      [this.clock().toISOString(), JSON.stringify(items.map(([id, e], i) => ({ id, derived: derived(e, i), lineage: e.lineage })))],
    );
  }
}
