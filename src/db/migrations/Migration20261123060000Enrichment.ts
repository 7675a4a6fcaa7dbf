import { Migration } from '@mikro-orm/migrations';

/**
 * Ticket enrichment and wrong-input checks: the model and the serial as reported (kept when the
 * caller insisted on an unknown one), the lineage of each derived value and when it was derived,
 * and the ENRICHED history event written when master data changes a ticket's derived values.
 * Serial suggestions need no new index: one-character typos are exact lookups through
 * device_serial_variant (bench:identity compares it with a pg_trgm GIN index).
 */
export class Migration20261123060000Enrichment extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "ticket" add column "model" text null, add column "reported_serial" text null,
      add column "derived_lineage" jsonb not null default '[]', add column "enriched_at" timestamptz null`);
    this.addSql(`alter table "ticket_event" drop constraint if exists "ticket_event_type_check"`);
    this.addSql(`alter table "ticket_event" add constraint "ticket_event_type_check"
      check ("type" in ('CREATED', 'UPDATED', 'STATUS_CHANGED', 'ENRICHED'))`);
  }
}
