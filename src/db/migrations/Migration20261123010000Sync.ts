import { Migration } from '@mikro-orm/migrations';

/** Sync pipeline: staging of raw source records, cursors, runs; CRM complaints; admin-saved mapping versions. */
export class Migration20261123010000Sync extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "complaint" ("id" bigserial primary key, "case_number" text not null, "customer_id" bigint null, "device_id" bigint null, "subject" text null, "status" text not null, "opened_at" timestamptz null, "closed_at" timestamptz null, "lineage" jsonb not null default '{}', "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now())`);
    this.addSql(`alter table "complaint" add constraint "complaint_case_number_key" unique ("case_number")`);
    this.addSql(`create index "complaint_customer_idx" on "complaint" ("customer_id")`);
    this.addSql(`create index "complaint_device_idx" on "complaint" ("device_id")`);
    this.addSql(`create table "mapping_version" ("id" bigserial primary key, "name" text not null, "version" int not null, "source" text not null, "comment" text null, "created_by" text not null, "created_at" timestamptz not null default now(), "active" boolean not null default false)`);
    this.addSql(`alter table "mapping_version" add constraint "mapping_version_key" unique ("name", "version")`);
    this.addSql(`create table "source_record" ("id" bigserial primary key, "connector" text not null, "stream" text not null, "external_id" text not null, "version" text null, "payload" jsonb not null, "hash" text not null, "fetched_at" timestamptz not null default now(), "mapped_at" timestamptz null, "mapping_version" text null, "status" text not null default 'PENDING', "error" jsonb null)`);
    this.addSql(`create index "source_record_status_idx" on "source_record" ("connector", "stream", "status")`);
    this.addSql(`alter table "source_record" add constraint "source_record_key" unique ("connector", "stream", "external_id")`);
    this.addSql(`create table "sync_run" ("id" bigserial primary key, "connector" text not null, "stream" text not null, "mode" text not null, "status" text not null default 'RUNNING', "trigger" text not null, "started_at" timestamptz not null default now(), "finished_at" timestamptz null, "pages" int not null default 0, "fetched" int not null default 0, "unchanged" int not null default 0, "merged" int not null default 0, "failed" int not null default 0, "error" text null)`);
    this.addSql(`create index "sync_run_stream_idx" on "sync_run" ("connector", "stream", "id")`);
    this.addSql(`create table "sync_state" ("connector" text not null, "stream" text not null, "cursor" text null, "updated_at" timestamptz not null default now(), constraint "sync_state_pkey" primary key ("connector", "stream"))`);
    this.addSql(`alter table "complaint" add constraint "complaint_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete set null`);
    this.addSql(`alter table "complaint" add constraint "complaint_device_id_foreign" foreign key ("device_id") references "device" ("id") on update cascade on delete set null`);
    // One source record can feed several entities (device + telemetry): the link key includes the entity type.
    this.addSql(`alter table "source_link" drop constraint "source_link_external_key"`);
    this.addSql(`alter table "source_link" add constraint "source_link_external_key" unique ("system", "stream", "external_id", "entity_type")`);
    // At most one active version per mapping.
    this.addSql(`create unique index "mapping_version_one_active" on "mapping_version" ("name") where "active"`);
  }
}
