import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from './base';

@Entity({ tableName: 'spare_part' })
export class SparePart extends BaseEntity {
  /** `collate "C"` (BulkCost migration). */
  @Unique({ name: 'spare_part_code_key' })
  @Property({ type: 'string', columnType: 'text' })
  code!: string;

  @Property({ type: 'string', columnType: 'text' })
  name!: string;
}

/** Which device models (optionally firmware prefixes) a part fits. */
@Entity({ tableName: 'part_compatibility' })
@Index({ name: 'part_compatibility_model_idx', properties: ['model'] })
export class PartCompatibility {
  @ManyToOne(() => SparePart, { primary: true, deleteRule: 'cascade' })
  part!: SparePart;

  @PrimaryKey({ type: 'string', columnType: 'text' })
  model!: string;

  /** Empty string = any firmware; otherwise a firmware version prefix. */
  @PrimaryKey({ type: 'string', columnType: 'text', default: '' })
  firmwarePrefix: string = '';
}

/** Stock of a part per warehouse (ERP inventory). */
@Entity({ tableName: 'stock' })
export class Stock {
  @ManyToOne(() => SparePart, { primary: true, deleteRule: 'cascade' })
  part!: SparePart;

  @PrimaryKey({ type: 'string', columnType: 'text' })
  warehouse!: string;

  @Property({ type: 'integer', default: 0 })
  quantity: number = 0;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
