/**
 * The legacy-system bridge: the rows an import commits are pushed on to the template's `push`
 * targets through the write-back pipeline. Each row's outbox rows are inserted in the same
 * transaction as the row's data (one insert per batch), so a crash never pushes a row that was
 * not imported nor loses the push of one that was; the relay and worker then deliver them like
 * ticket write-backs (job id = outbox id, Idempotency-Key `junction-wb-<id>`, retries, dead letter).
 * A row imported before is UNCHANGED and pushes nothing again.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { bulkExecutor } from '../db/sql';
import { insertOutboxRows, OutboxRowInput } from '../writeback/outbox';
import type { ExcelTemplate } from './template';

/** What the outbound mapping of a push reads: the row's standard JSON and where it came from. */
export interface PushDocument {
  /** `excel:<template>:<file>#<sheet>!<row>`: also the outbox row's origin. */
  origin: string;
  template: string;
  file: string;
  sheet: string;
  row: number;
  rowHash: string;
  importedAt: string;
  /** The canonical records the row became (the result line's `records`). */
  records: unknown[];
  /** Ticket template: the ticket number the row created. */
  ticket?: string | null;
}

export interface PushRow {
  row: number;
  hash: string;
  /** What identifies the record the row is about (its template key values): pushes about one record apply in order. */
  key: string;
  records: unknown[];
  ticket?: string | null;
}

export const pushRoute = (template: string, push: string) => `excel:${template}:${push}`;
export const pushOrigin = (template: string, file: string, sheet: string, row: number) => `excel:${template}:${file}#${sheet}!${row}`;

/** The outbox rows for committed rows: one per row and push target. */
export function pushRowsOf(t: ExcelTemplate, where: { file: string; sheet: string; at: string }, rows: PushRow[]): OutboxRowInput[] {
  const out: OutboxRowInput[] = [];
  for (const target of t.push ?? []) {
    for (const r of rows) {
      const origin = pushOrigin(t.name, where.file, where.sheet, r.row);
      const payload: PushDocument = {
        origin, template: t.name, file: where.file, sheet: where.sheet, row: r.row, rowHash: r.hash, importedAt: where.at, records: r.records,
        ...(r.ticket !== undefined ? { ticket: r.ticket } : {}),
      };
      out.push({
        ticketId: null, ticketNumber: null, ticketVersion: null, origin, rowHash: r.hash,
        route: pushRoute(t.name, target.name), connector: target.connector, operation: target.operation, mapping: target.mapping,
        targetKey: `${target.connector}:${pushRoute(t.name, target.name)}:${r.key}`,
        payload: payload as unknown as Record<string, unknown>,
      });
    }
  }
  return out;
}

/** Inserts the pushes of `rows` in the caller's transaction; returns how many were queued. */
export async function queuePushes(em: EntityManager, t: ExcelTemplate, where: { file: string; sheet: string; at: string }, rows: PushRow[]): Promise<number> {
  if (!t.push?.length || !rows.length) return 0;
  const ids = await insertOutboxRows(bulkExecutor(em), pushRowsOf(t, where, rows));
  return ids.length;
}
