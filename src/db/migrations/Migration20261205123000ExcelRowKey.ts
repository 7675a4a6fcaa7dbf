import { Migration } from '@mikro-orm/migrations';

/**
 * excel_row is keyed by `row_key`, the first 64 bits of the row hash as a bigint
 * (src/excel/row-key.ts), instead of a bigserial id plus a unique index over (template, row_hash):
 * one 8-byte index per claimed row instead of two, the larger one over ~40 bytes of text. The
 * importer compares template and row_hash on every key it finds (a different hash under the same
 * key is ROW_KEY_COLLISION). The job_id index goes too: nothing reads excel_row by job (a job's
 * counts and result are in excel_job).
 */
export class Migration20261205123000ExcelRowKey extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "excel_row" add column "row_key" bigint null`);
    this.addSql(`update "excel_row" set "row_key" = ('x' || substr("row_hash", 1, 16))::bit(64)::bigint`);
    this.addSql(`alter table "excel_row" alter column "row_key" set not null`);
    this.addSql(`drop index if exists "excel_row_job_idx"`);
    this.addSql(`alter table "excel_row" drop constraint if exists "excel_row_key"`);
    this.addSql(`alter table "excel_row" drop constraint if exists "excel_row_pkey"`);
    this.addSql(`alter table "excel_row" drop column "id"`);
    this.addSql(`alter table "excel_row" add constraint "excel_row_pkey" primary key ("row_key")`);
  }
}
