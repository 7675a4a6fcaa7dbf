import { Migration } from '@mikro-orm/migrations';

/**
 * Cross-system checks: which rule produced a data issue and which run closed it, one row per
 * check run (its per-rule summary, broken rules included), and the ticket a CRM complaint names.
 */
export class Migration20261123070000Quality extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "data_issue" add column "rule" text null, add column "resolved_by" text null`);
    this.addSql(`create index "data_issue_rule_idx" on "data_issue" ("rule", "state")`);
    this.addSql(`alter table "complaint" add column "ticket_number" text null`);
    this.addSql(`create index "complaint_ticket_number_idx" on "complaint" ("ticket_number")`);
    this.addSql(`create table "quality_run" ("id" bigserial primary key, "trigger" text not null, "status" text not null default 'RUNNING', "started_at" timestamptz not null default now(), "finished_at" timestamptz null, "summary" jsonb not null default '[]')`);
  }
}
