import { Migration } from '@mikro-orm/migrations';

/**
 * Write-back: the transactional outbox (rows written with the ticket change they carry), the
 * ledger of applied idempotency keys, and a NOTIFY on insert so the relay picks rows up at once.
 */
export class Migration20261123040000Outbox extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "writeback_outbox" ("id" bigserial primary key, "ticket_id" bigint not null, "ticket_number" text not null, "ticket_version" int not null, "route" text not null, "connector" text not null, "operation" text not null, "mapping" text not null, "target_key" text not null, "payload" jsonb not null, "status" text not null default 'PENDING', "attempts" int not null default 0, "last_error" jsonb null, "result" jsonb null, "created_at" timestamptz not null default now(), "relayed_at" timestamptz null, "picked_at" timestamptz null, "finished_at" timestamptz null)`);
    this.addSql(`create index "writeback_outbox_pending_idx" on "writeback_outbox" ("id") where "status" = 'PENDING'`);
    this.addSql(`create index "writeback_outbox_ticket_idx" on "writeback_outbox" ("ticket_id", "id")`);
    this.addSql(`create index "writeback_outbox_target_idx" on "writeback_outbox" ("target_key", "id")`);
    this.addSql(`create index "writeback_outbox_status_idx" on "writeback_outbox" ("status", "id")`);
    this.addSql(`create table "writeback_applied" ("idempotency_key" text primary key, "outbox_id" bigint not null, "connector" text not null, "target_key" text not null, "external_id" text null, "version" text null, "duplicate" boolean not null default false, "applied_at" timestamptz not null default now())`);
    this.addSql(`create or replace function writeback_outbox_notify() returns trigger language plpgsql as $$ begin perform pg_notify('junction_writeback', ''); return null; end $$`);
    this.addSql(`create trigger writeback_outbox_notify after insert on "writeback_outbox" for each statement execute function writeback_outbox_notify()`);
  }
}
