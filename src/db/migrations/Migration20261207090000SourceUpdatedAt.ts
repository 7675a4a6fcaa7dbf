import { Migration } from '@mikro-orm/migrations';

/**
 * source_record.source_updated_at: the time a record's values are dated by in lineage (the
 * source's own SourceRecord.updatedAt, else when it was staged), staged with the record. `remap`
 * and the retry of unresolved records date the values by it again: they took "now", so at equal
 * source priority an older value re-merged beat a newer one from another stream. Rows staged
 * before stay null (remap falls back to fetched_at). Nullable, no default: adding it rewrites
 * nothing.
 */
export class Migration20261207090000SourceUpdatedAt extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "source_record" add column "source_updated_at" timestamptz null`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "source_record" drop column "source_updated_at"`);
  }
}
