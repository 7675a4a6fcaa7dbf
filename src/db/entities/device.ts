import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { BaseEntity, LineageMap } from './base';
import { Customer } from './customer';

@Entity({ tableName: 'device' })
export class Device extends BaseEntity {
  /** Normalized serial (trimmed, upper-case, half-width, no inner spaces). `collate "C"` (BulkCost migration). */
  @Unique({ name: 'device_serial_key' })
  @Property({ type: 'string', columnType: 'text' })
  serial!: string;

  @Index({ name: 'device_model_idx' })
  @Property({ type: 'string', columnType: 'text', nullable: true })
  model?: string | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  firmware?: string | null;

  @Property({ type: 'string', columnType: 'date', nullable: true })
  purchaseDate?: string | null;

  @Property({ type: 'string', columnType: 'date', nullable: true })
  warrantyEnd?: string | null;

  @Index({ name: 'device_owner_idx' })
  @ManyToOne(() => Customer, { nullable: true, deleteRule: 'set null' })
  owner?: Customer | null;

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  lineage: LineageMap = {};

  @Property({ type: 'integer', version: true, default: 1 })
  version: number = 1;
}

/**
 * A serial with one character removed (maintained by triggers on device): finds near-duplicate
 * serials by exact lookup. No foreign key on purpose (see the Similarity migration), no index on
 * device_id (see the VariantCost migration). variant is `collate "C"`; row triggers remove a
 * device's variants when its serial changes or it is deleted, truncating device truncates them
 * (BulkCost migration).
 */
@Entity({ tableName: 'device_serial_variant' })
export class DeviceSerialVariant {
  @PrimaryKey({ type: 'string', columnType: 'text' })
  variant!: string;

  @PrimaryKey({ type: 'bigint' })
  deviceId!: string;
}
