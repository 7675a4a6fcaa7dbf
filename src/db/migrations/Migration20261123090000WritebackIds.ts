import { Migration } from '@mikro-orm/migrations';

/**
 * Outbox ids name the BullMQ jobs (`wb-<id>`) and the idempotency keys vendors keep
 * (`junction-wb-<id>`). A database created again (a reset, a second hub on the same Redis or the
 * same CRM org) would count from 1 again: BullMQ would swallow its new jobs as ones it already
 * holds, and a vendor would answer "already applied" to keys another incarnation used. So each
 * database starts its outbox ids at a random point between 10^12 and ~8·10^15 (under 2^53: safe
 * as a JavaScript number anywhere). Restoring a backup restores the sequence too; see README.
 */
export class Migration20261123090000WritebackIds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`select setval('writeback_outbox_id_seq', (1e12 + floor(random() * 8e15))::bigint)`);
  }
}
