import rules from './survivorship.json';
import type { FieldLineage } from '../db/entities/base';

type Rules = Record<string, string[] | Record<string, string[]> | string>;
const table = rules as unknown as Rules;
const defaults = table.default as string[];

/** Lineage system of a value set by hand through the API (setCustomerFields, setDeviceFields). */
export const MANUAL_SYSTEM = 'manual';

/** Position of a system in the field's priority list (lower wins); unlisted systems rank last. */
export function rank(entity: string, field: string, system: string): number {
  const perEntity = (table[entity] ?? {}) as Record<string, string[]>;
  const order = perEntity[field] ?? defaults;
  const i = order.indexOf(system);
  return i === -1 ? order.length : i;
}

/**
 * Whether an incoming value from `incoming` replaces the current one (declared per field, never
 * by code order): pinned values stay (a pinned null too: cleared by hand on purpose); absent or
 * null current values are filled; an unpinned value set by hand gives way (it was a correction
 * until the sources catch up: unpinning is how an admin hands the field back to sync); else a
 * higher-priority source wins, and at equal priority the more recent value wins.
 */
export function incomingWins(
  entity: string,
  field: string,
  current: { value: unknown; lineage?: FieldLineage },
  incoming: { system: string; at: string },
): boolean {
  if (current.lineage?.pinned) return false;
  if (current.value === null || current.value === undefined || !current.lineage) return true;
  if (current.lineage.system === MANUAL_SYSTEM) return true;
  const a = rank(entity, field, incoming.system);
  const b = rank(entity, field, current.lineage.system);
  if (a !== b) return a < b;
  return incoming.at >= current.lineage.at;
}
