import { Migration } from '@mikro-orm/migrations';

/**
 * Near-duplicate serials by exact lookups (the "symmetric deletion" idea): every serial is stored
 * with each of its one-character deletions, so "one character more or less" is two btree joins
 * instead of a similarity scan (which sequential serials like SN0000001, SN0000002 make quadratic).
 * Kept by statement-level triggers, so every way a device is written keeps its variants.
 */
export class Migration20261123020000Similarity extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists fuzzystrmatch`);
    this.addSql(`create table "device_serial_variant" ("variant" text not null, "device_id" bigint not null,
      constraint "device_serial_variant_pkey" primary key ("variant", "device_id"))`);
    this.addSql(`create index "device_serial_variant_device_idx" on "device_serial_variant" ("device_id")`);
    // No foreign key on purpose: it doubled the cost of bulk device inserts (one check per variant
    // row). Device ids are never reused and every lookup joins back to device, so a variant left
    // behind by a deleted device can never match anything.
    this.addSql(`create function junction_device_serial_variants_insert() returns trigger language plpgsql as $$
begin
  insert into device_serial_variant (variant, device_id)
  select distinct substr(n.serial, 1, i - 1) || substr(n.serial, i + 1), n.id
    from new_devices n cross join lateral generate_series(1, length(n.serial)) i
  on conflict do nothing;
  return null;
end $$`);
    this.addSql(`create function junction_device_serial_variants_update() returns trigger language plpgsql as $$
begin
  delete from device_serial_variant v using old_devices o, new_devices n
   where v.device_id = o.id and n.id = o.id and n.serial is distinct from o.serial;
  insert into device_serial_variant (variant, device_id)
  select distinct substr(n.serial, 1, i - 1) || substr(n.serial, i + 1), n.id
    from new_devices n join old_devices o on o.id = n.id and o.serial is distinct from n.serial
    cross join lateral generate_series(1, length(n.serial)) i
  on conflict do nothing;
  return null;
end $$`);
    this.addSql(`create trigger device_serial_variants_insert after insert on "device"
      referencing new table as new_devices for each statement execute function junction_device_serial_variants_insert()`);
    this.addSql(`create trigger device_serial_variants_update after update on "device"
      referencing old table as old_devices new table as new_devices for each statement execute function junction_device_serial_variants_update()`);
  }
}
