import { Entity, Index, Property, Unique } from '@mikro-orm/core';
import { BaseEntity, LineageMap } from './base';

@Entity({ tableName: 'customer' })
export class Customer extends BaseEntity {
  /** E.164, the identity key for customers. `collate "C"` (BulkCost migration). */
  @Unique({ name: 'customer_phone_key' })
  @Property({ type: 'string', columnType: 'text' })
  phone!: string;

  @Property({ type: 'string', columnType: 'text' })
  name!: string;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  tier?: string | null;

  @Index({ name: 'customer_region_idx' })
  @Property({ type: 'string', columnType: 'text', nullable: true })
  region?: string | null;

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  lineage: LineageMap = {};

  @Property({ type: 'integer', version: true, default: 1 })
  version: number = 1;
}
