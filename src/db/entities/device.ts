import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity, LineageMap } from './base';
import { Customer } from './customer';

@Entity({ tableName: 'device' })
@Index({ name: 'device_serial_trgm_idx', expression: 'create index "device_serial_trgm_idx" on "device" using gin (lower("serial") gin_trgm_ops)' })
export class Device extends BaseEntity {
  /** Normalized serial (trimmed, upper-case, half-width, no inner spaces). */
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
