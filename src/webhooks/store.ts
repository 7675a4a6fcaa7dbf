/**
 * The `webhook_event` rows: one per delivery Junction accepted, keyed by (connector, dedupe key)
 * so a repeat is recognized. Runs inside the caller's transaction, together with the merge.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { bulkExecutor } from '../db/sql';

export type EventStatus = 'PROCESSED' | 'PARTIAL' | 'FAILED';

export interface ClaimedEvent {
  id: string;
  /** A delivery already processed (PROCESSED or PARTIAL): acknowledge, do not process again. */
  duplicate: boolean;
  status: string;
}

/**
 * Inserts the delivery, or counts one more delivery of a known one. A known one that FAILED
 * (malformed, wrong shape, every record refused) is processed again — the sender may have fixed it,
 * or Junction's mapping was fixed meanwhile; one that was processed is only acknowledged.
 */
export async function claimEvent(em: EntityManager, e: { connector: string; kind: string; dedupeKey: string; contentType: string | null; payload: string }): Promise<ClaimedEvent> {
  const exec = bulkExecutor(em);
  const [row] = await exec<{ id: string; status: string; inserted: boolean }>(
    `insert into webhook_event (connector, kind, dedupe_key, content_type, payload, status)
     values (?, ?, ?, ?, ?, 'FAILED')
     on conflict (connector, dedupe_key) do update set deliveries = webhook_event.deliveries + 1,
       payload = case when webhook_event.status = 'FAILED' then excluded.payload else webhook_event.payload end
     returning id, status, (xmax = 0) as inserted`,
    [e.connector, e.kind, e.dedupeKey, e.contentType, e.payload],
  );
  return { id: String(row.id), duplicate: !row.inserted && row.status !== 'FAILED', status: row.status };
}

export interface EventOutcome {
  kind: string;
  status: EventStatus;
  externalIds: Array<{ stream: string; externalId: string }>;
  error: { code: string; message: string; records?: unknown[] } | null;
  records: number;
  merged: number;
  unchanged: number;
  failed: number;
}

export async function finishEvent(em: EntityManager, id: string, o: EventOutcome): Promise<void> {
  await bulkExecutor(em)(
    `update webhook_event set kind = ?, status = ?, external_ids = ?::jsonb, error = ?::jsonb, records = ?, merged = ?, unchanged = ?, failed = ?, processed_at = now()
      where id = ?`,
    [o.kind, o.status, JSON.stringify(o.externalIds), o.error ? JSON.stringify(o.error) : null, o.records, o.merged, o.unchanged, o.failed, id],
  );
}
