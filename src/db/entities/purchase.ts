import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity, LineageMap } from './base';
import { Customer } from './customer';
import { Device } from './device';

/** One ERP sales-order line. */
@Entity({ tableName: 'purchase' })
@Unique({ name: 'purchase_order_line_key', properties: ['orderNumber', 'lineNo'] })
export class Purchase extends BaseEntity {
  /** `collate "C"` (BulkCost migration). */
  @Property({ type: 'string', columnType: 'text' })
  orderNumber!: string;

  @Property({ type: 'integer', default: 1 })
  lineNo: number = 1;

  @Index({ name: 'purchase_customer_idx' })
  @ManyToOne(() => Customer, { nullable: true, deleteRule: 'set null' })
  customer?: Customer | null;

  @Index({ name: 'purchase_device_idx' })
  @ManyToOne(() => Device, { nullable: true, deleteRule: 'set null' })
  device?: Device | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  model?: string | null;

  @Property({ type: 'integer', default: 1 })
  quantity: number = 1;

  @Property({ type: 'string', columnType: 'numeric(14,2)', nullable: true })
  amount?: string | null;

  @Property({ type: 'string', columnType: 'text', default: 'CNY' })
  currency: string = 'CNY';

  @Property({ type: 'string', columnType: 'date', nullable: true })
  orderedAt?: string | null;

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  lineage: LineageMap = {};
}
