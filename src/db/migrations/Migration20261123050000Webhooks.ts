import { Migration } from '@mikro-orm/migrations';

/** Inbound push: every accepted webhook delivery, raw, with what processing it did (src/webhooks). */
export class Migration20261123050000Webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "webhook_event" ("id" bigserial primary key, "connector" text not null, "kind" text not null, "received_at" timestamptz not null default now(), "processed_at" timestamptz null, "dedupe_key" text not null, "external_ids" jsonb not null default '[]', "content_type" text null, "payload" text not null, "status" text not null, "error" jsonb null, "records" int not null default 0, "merged" int not null default 0, "unchanged" int not null default 0, "failed" int not null default 0, "deliveries" int not null default 1)`);
    this.addSql(`alter table "webhook_event" add constraint "webhook_event_dedupe_key" unique ("connector", "dedupe_key")`);
    this.addSql(`create index "webhook_event_connector_idx" on "webhook_event" ("connector", "id")`);
    this.addSql(`create index "webhook_event_status_idx" on "webhook_event" ("status", "id")`);
  }
}
