import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { textArray } from '../graph/loaders';
import { editDistance, modelFamily, modelKey, typoKind, TypoKind } from './similar';

export interface SerialSuggestion {
  serial: string;
  model: string | null;
  /** Edits between the typed serial and this one (a swap of two neighbours counts as one). */
  distance: number;
  kind: TypoKind;
  /** The device's owner, when known (a portal can show whose device it is). */
  ownerId: string | null;
}

export interface ModelSuggestion {
  model: string;
  distance: number;
  kind: TypoKind;
}

type Db = MikroORM | EntityManager;

/**
 * Longest serial Junction looks up or suggests for (after normalizeSerial). The search builds
 * every one-character deletion of the typed serial (memory grows with length²), so longer input
 * is refused where it comes in (createTicket, serialSuggestions) and never searched here.
 */
export const MAX_SERIAL_LENGTH = 64;

/**
 * Known serials one or two edits from `typed`, by exact lookups only: every serial is stored with
 * each of its one-character deletions (device_serial_variant, kept by triggers). A typed serial
 * with a character too many has a deletion that is a serial; one with a character missing is a
 * deletion of a serial; a wrong or swapped character shares a deletion with the serial. So the
 * search is about 2 × length btree probes whatever the table size (bench:identity measures it).
 */
async function candidates(db: Db, typed: string): Promise<Array<{ serial: string; model: string | null; owner_id: string | null }>> {
  // No known serial is that long (input is capped at MAX_SERIAL_LENGTH): nothing to suggest, and no deletions built.
  if (typed.length > MAX_SERIAL_LENGTH) return [];
  const deletions = [...new Set([...typed].map((_, i) => typed.slice(0, i) + typed.slice(i + 1)))];
  // Arrays as `= any(...)`: one index scan with array keys each (an OR or IN over a CTE made PostgreSQL scan the table).
  return sqlRows(db,
    `select d.serial, d.model, d.owner_id from device d where d.serial = any(?::text[])
     union
     select d.serial, d.model, d.owner_id from device_serial_variant x join device d on d.id = x.device_id where x.variant = any(?::text[])
     limit 500`,
    [textArray(deletions), textArray([typed, ...deletions])]);
}

/**
 * Ranked suggestions for a serial Junction does not know. With a model (as the caller read it
 * from the nameplate, even mistyped), only devices of the same model family are suggested, the
 * exact model first. Then fewer edits first, then the caller's own customer's devices, then serial.
 */
export async function suggestSerials(
  db: Db, typed: string, opts: { model?: string | null; customerId?: string | null; limit?: number } = {},
): Promise<SerialSuggestion[]> {
  const family = modelFamily(opts.model);
  const wanted = opts.model ? modelKey(opts.model) : null;
  const all = await candidates(db, typed);
  if (all.some((c) => c.serial === typed)) return []; // a known serial needs no suggestion
  const found = all
    .filter((c) => c.serial !== typed && (!family || modelFamily(c.model) === family))
    .map((c) => ({
      serial: c.serial, model: c.model, ownerId: c.owner_id === null ? null : String(c.owner_id),
      distance: editDistance(typed, c.serial), kind: typoKind(typed, c.serial),
      sameModel: wanted !== null && c.model !== null && modelKey(c.model) === wanted,
    }))
    .filter((c) => c.distance <= 2);
  found.sort((a, b) => Number(b.sameModel) - Number(a.sameModel) || a.distance - b.distance
    || Number(b.ownerId === opts.customerId && !!opts.customerId) - Number(a.ownerId === opts.customerId && !!opts.customerId)
    || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  return found.slice(0, opts.limit ?? 5).map(({ sameModel, ...s }) => { void sameModel; return s; });
}

/**
 * Every model Junction knows: those of devices (a loose index scan over device_model_idx, one
 * probe per distinct model, so it stays fast with millions of devices) and those parts fit.
 */
export async function knownModels(db: Db): Promise<string[]> {
  const rows = await sqlRows<{ model: string }>(db,
    `with recursive m(model) as (
       (select model from device where model is not null order by model limit 1)
       union all
       select (select d.model from device d where d.model > m.model order by d.model limit 1) from m where m.model is not null
     )
     select model from m where model is not null
     union select model from part_compatibility`);
  return rows.map((r) => r.model);
}

/** The known model a typed one means exactly (case and spaces aside), or null. */
export function findModel(known: string[], typed: string): string | null {
  const key = modelKey(typed);
  return known.find((m) => modelKey(m) === key) ?? null;
}

/**
 * Known models of the typed model's family, fewest edits first (at most 3 edits); when the family
 * itself is mistyped (`KFR72LW/N8HR3`) and has none, the closest models of any family (at most 2).
 * Empty when the typed model is known.
 */
export function suggestModels(known: string[], typed: string, limit = 5): ModelSuggestion[] {
  const key = modelKey(typed);
  if (findModel(known, typed)) return [];
  const family = modelFamily(typed);
  const ranked = (models: string[], max: number) => models
    .map((m) => ({ model: m, distance: editDistance(key, modelKey(m)), kind: typoKind(key, modelKey(m)) }))
    .filter((m) => m.distance > 0 && m.distance <= max)
    .sort((a, b) => a.distance - b.distance || (a.model < b.model ? -1 : 1))
    .slice(0, limit);
  const inFamily = ranked(known.filter((m) => modelFamily(m) === family), 3);
  return inFamily.length ? inFamily : ranked(known, 2);
}
