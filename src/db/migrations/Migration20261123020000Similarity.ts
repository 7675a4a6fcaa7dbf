import { Migration } from '@mikro-orm/migrations';

/**
 * Similarity search for near-duplicate detection (and typo suggestions later): trigram index on
 * device serials, levenshtein() for the exact edit distance of the candidates it finds.
 */
export class Migration20261123020000Similarity extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists pg_trgm`);
    this.addSql(`create extension if not exists fuzzystrmatch`);
    // On an expression, so that only similarity queries use it: a trigram index on the column itself
    // also answers `serial = ...` and the planner then prefers it to the unique btree (much slower).
    this.addSql(`create index "device_serial_trgm_idx" on "device" using gin (lower("serial") gin_trgm_ops)`);
  }
}
