import { Migration } from '@mikro-orm/migrations';

/**
 * Excel push (the legacy-system bridge): outbox rows not tied to a ticket. A row pushed on from an
 * imported Excel row has no ticket; `origin` says where it came from
 * (`excel:<template>:<file>#<sheet>!<row>`) and `row_hash` which row content it carries. An
 * import job counts the pushes it queued.
 */
export class Migration20261123080000ExcelPush extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "writeback_outbox" alter column "ticket_id" drop not null, alter column "ticket_number" drop not null, alter column "ticket_version" drop not null`);
    this.addSql(`alter table "writeback_outbox" add column "origin" text null, add column "row_hash" text null`);
    this.addSql(`alter table "writeback_outbox" add constraint "writeback_outbox_origin_check" check ("ticket_id" is not null or "origin" is not null)`);
    this.addSql(`create index "writeback_outbox_origin_idx" on "writeback_outbox" ("origin" text_pattern_ops, "id") where "origin" is not null`);
    this.addSql(`alter table "excel_job" add column "pushed" int not null default 0`);
  }
}
