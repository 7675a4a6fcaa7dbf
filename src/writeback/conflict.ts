/**
 * When the target changed since Junction last saw it: the route's survivorship rule for the
 * written field decides. Junction first = write anyway (recorded on the row). The target system
 * first = keep the target's value and raise a WRITEBACK_CONFLICT data issue with both values,
 * for a person to decide (one open issue per target record; a new conflict refreshes it).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { storableJson } from '../db/storable-text';
import type { WritebackRoute } from './routing';

export const JUNCTION_SYSTEM = 'junction';

/** Does Junction's value win over the target's for this route? (No rule: the target wins.) */
export function junctionWins(route: WritebackRoute | undefined, targetSystem: string): boolean {
  const order = route?.conflict?.winner ?? [targetSystem, JUNCTION_SYSTEM];
  const rank = (s: string) => {
    const i = order.indexOf(s);
    return i < 0 ? order.length : i;
  };
  return rank(JUNCTION_SYSTEM) < rank(targetSystem);
}

export interface ConflictEvidence {
  outboxId: string;
  ticketId: string;
  ticketNumber: string;
  connector: string;
  route: string;
  targetKey: string;
  targetId: string | null;
  field: string | null;
  junctionValue: unknown;
  targetValue: unknown;
  seenVersion: string | null;
  targetVersion: string | null;
}

export async function raiseConflictIssue(orm: MikroORM, e: ConflictEvidence): Promise<void> {
  const message = `${e.connector} ${e.targetId ?? e.targetKey} changed since Junction last saw it (version ${e.seenVersion ?? 'unknown'} → ${e.targetVersion ?? 'unknown'}): `
    + `ticket ${e.ticketNumber} wants ${e.field ?? 'its change'} = ${JSON.stringify(e.junctionValue)}, ${e.connector} has ${JSON.stringify(e.targetValue)}; `
    + `${e.connector} wins by the route ${e.route}, so nothing was written: decide, then retry or discard write-back ${e.outboxId}`;
  await sqlRows(orm,
    `insert into data_issue (kind, severity, entity_type, entity_id, fingerprint, message, evidence)
     values ('WRITEBACK_CONFLICT', 'WARNING', 'ticket', ?, ?, ?, ?::jsonb)
     on conflict (fingerprint) do update set message = excluded.message, evidence = excluded.evidence, last_seen = now(), state = 'OPEN', resolved_at = null`,
    [e.ticketId, `WRITEBACK_CONFLICT:${e.targetKey}`, message, storableJson(e)]);
}
