import { Migration } from '@mikro-orm/migrations';

/**
 * The serial-variant triggers were about half of PostgreSQL's CPU on a device import. Same rows,
 * less work:
 * - No index on device_id: only the update trigger used it, and it now deletes the old serial's
 *   variants through the primary key (variant, device_id), as exact as before since the triggers
 *   are the only writers. One index fewer to maintain for every variant row.
 * - No `distinct`: deleting any character of a run of equal characters gives the same string, so
 *   a serial's distinct deletions are exactly those at the first character of each run (fewer rows
 *   built, none to sort or probe twice; sequential serials are full of zeros). Different devices
 *   never share a (variant, device_id), so nothing else repeats; ON CONFLICT stays as a guard.
 */
export class Migration20261123100000VariantCost extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists "device_serial_variant_device_idx"`);
    this.addSql(`create or replace function junction_device_serial_variants_insert() returns trigger language plpgsql as $$
begin
  insert into device_serial_variant (variant, device_id)
  select substr(n.serial, 1, i - 1) || substr(n.serial, i + 1), n.id
    from new_devices n cross join lateral generate_series(1, length(n.serial)) i
   where i = 1 or substr(n.serial, i, 1) <> substr(n.serial, i - 1, 1)
  on conflict do nothing;
  return null;
end $$`);
    this.addSql(`create or replace function junction_device_serial_variants_update() returns trigger language plpgsql as $$
begin
  delete from device_serial_variant v
   using old_devices o join new_devices n on n.id = o.id and n.serial is distinct from o.serial
         cross join lateral generate_series(1, length(o.serial)) i
   where v.variant = substr(o.serial, 1, i - 1) || substr(o.serial, i + 1) and v.device_id = o.id;
  insert into device_serial_variant (variant, device_id)
  select substr(n.serial, 1, i - 1) || substr(n.serial, i + 1), n.id
    from new_devices n join old_devices o on o.id = n.id and o.serial is distinct from n.serial
    cross join lateral generate_series(1, length(n.serial)) i
   where i = 1 or substr(n.serial, i, 1) <> substr(n.serial, i - 1, 1)
  on conflict do nothing;
  return null;
end $$`);
  }
}
