import { Migration } from '@mikro-orm/migrations';

/**
 * source_record.payload as `json` instead of `jsonb`: the staged text is kept as it is (for records
 * staged from now on, the payload's canonical JSON, the very text its content `hash` is computed
 * from; rows already stored keep jsonb's rendering). Staging is the sync's biggest statement and
 * runs beside the page being merged, on the same cores: as jsonb every payload was parsed into a
 * binary tree on the way in (in isolation about twice the statement time of storing the text; in
 * the pipeline ~10% of the staging statement, bench/README 2026-12-06). Nothing queries inside
 * payloads but one webhook lookup by device name (json has the same operators); readers get the
 * same values back. Rewrites the table under an exclusive lock.
 */
export class Migration20261206060000RawPayload extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "source_record" alter column "payload" type json using "payload"::json`);
  }
}
