import { Migration } from '@mikro-orm/migrations';

/** Excel exchange: imported row hashes (re-import changes nothing) and HTTP import jobs. */
export class Migration20261123030000Excel extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "excel_row" ("id" bigserial primary key, "template" text not null, "row_hash" text not null, "job_id" bigint null, "file_name" text not null, "sheet" text not null, "row_number" int not null, "status" text not null, "entity_type" text null, "entity_id" text null, "created_at" timestamptz not null default now())`);
    this.addSql(`alter table "excel_row" add constraint "excel_row_key" unique ("template", "row_hash")`);
    this.addSql(`create index "excel_row_job_idx" on "excel_row" ("job_id")`);
    this.addSql(`create table "excel_job" ("id" bigserial primary key, "template" text not null, "file_name" text not null, "status" text not null default 'QUEUED', "atomic" boolean not null default false, "dry_run" boolean not null default false, "total_rows" int null, "processed" int not null default 0, "imported" int not null default 0, "unchanged" int not null default 0, "failed" int not null default 0, "error" jsonb null, "headers" jsonb null, "result" bytea null, "created_by" text not null, "created_at" timestamptz not null default now(), "started_at" timestamptz null, "finished_at" timestamptz null)`);
    this.addSql(`create index "excel_job_created_idx" on "excel_job" ("created_at")`);
  }
}
