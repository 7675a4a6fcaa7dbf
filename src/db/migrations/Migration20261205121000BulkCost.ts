import { Migration } from '@mikro-orm/migrations';

/**
 * PostgreSQL's share of a bulk sync, cheaper for the same rows:
 * - source_record's status index held every row, and every record is staged MERGED. Only the rows
 *   that are not (FAILED, PENDING) are ever looked for by status, so a partial index keeps just
 *   those: no index entry at all for a record that merged.
 * - Text keys that are only compared for equality (or by bytes) get collation "C": the database's
 *   C.UTF-8 (libc) compares through strcoll, "C" by memcmp, in every index probe and insert. For
 *   UTF-8, byte order is code point order, which is what C.UTF-8 sorts by, so no order changes.
 * - Serial variants: plain inserts (no ON CONFLICT speculative insertion: a serial's variants are
 *   distinct and (variant, device_id) cannot repeat once deletes and truncates remove a device's
 *   variants too); the update trigger is a row trigger that fires only when the serial changes, so
 *   an update of other columns no longer copies old and new rows (lineage and all) into transition
 *   tables.
 */
export class Migration20261205121000BulkCost extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists "source_record_status_idx"`);
    this.addSql(`create index "source_record_unmerged_idx" on "source_record" ("connector", "stream", "status") where "status" <> 'MERGED'`);

    this.addSql(`alter table "source_record" alter column "connector" type text collate "C", alter column "stream" type text collate "C", alter column "external_id" type text collate "C"`);
    this.addSql(`alter table "source_link" alter column "system" type text collate "C", alter column "stream" type text collate "C", alter column "external_id" type text collate "C", alter column "entity_type" type text collate "C"`);
    this.addSql(`alter table "customer" alter column "phone" type text collate "C"`);
    this.addSql(`alter table "device" alter column "serial" type text collate "C"`);
    this.addSql(`alter table "device_serial_variant" alter column "variant" type text collate "C"`);
    this.addSql(`alter table "audit_log" alter column "entity_type" type text collate "C"`);
    this.addSql(`alter table "purchase" alter column "order_number" type text collate "C"`);
    this.addSql(`alter table "spare_part" alter column "code" type text collate "C"`);

    // Leftovers of devices deleted before this migration (no trigger removed them until now).
    this.addSql(`delete from device_serial_variant v where not exists (select 1 from device d where d.id = v.device_id)`);

    this.addSql(`create or replace function junction_device_serial_variants_insert() returns trigger language plpgsql as $$
begin
  insert into device_serial_variant (variant, device_id)
  select substr(n.serial, 1, i - 1) || substr(n.serial, i + 1), n.id
    from new_devices n cross join lateral generate_series(1, length(n.serial)) i
   where i = 1 or substr(n.serial, i, 1) <> substr(n.serial, i - 1, 1);
  return null;
end $$`);
    this.addSql(`drop trigger if exists device_serial_variants_update on "device"`);
    this.addSql(`drop function if exists junction_device_serial_variants_update()`);
    this.addSql(`create function junction_device_serial_variant_row() returns trigger language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    delete from device_serial_variant
     where device_id = old.id
       and variant in (select substr(old.serial, 1, i - 1) || substr(old.serial, i + 1) from generate_series(1, length(old.serial)) i);
  end if;
  if tg_op = 'UPDATE' then
    insert into device_serial_variant (variant, device_id)
    select substr(new.serial, 1, i - 1) || substr(new.serial, i + 1), new.id
      from generate_series(1, length(new.serial)) i
     where i = 1 or substr(new.serial, i, 1) <> substr(new.serial, i - 1, 1);
  end if;
  return null;
end $$`);
    this.addSql(`create trigger device_serial_variants_update after update of serial on "device"
      for each row when (old.serial is distinct from new.serial) execute function junction_device_serial_variant_row()`);
    this.addSql(`create trigger device_serial_variants_delete after delete on "device"
      for each row execute function junction_device_serial_variant_row()`);
    this.addSql(`create function junction_device_serial_variants_truncate() returns trigger language plpgsql as $$
begin
  truncate device_serial_variant;
  return null;
end $$`);
    this.addSql(`create trigger device_serial_variants_truncate after truncate on "device"
      for each statement execute function junction_device_serial_variants_truncate()`);
  }
}
