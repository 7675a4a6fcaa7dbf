import { Entity, OneToOne, Property } from '@mikro-orm/core';
import { Device } from './device';
import { LineageMap } from './base';

/** Latest known IoT state of a device (one row per device, overwritten by newer readings). */
@Entity({ tableName: 'telemetry' })
export class Telemetry {
  @OneToOne(() => Device, { primary: true, owner: true, deleteRule: 'cascade', fieldName: 'device_id' })
  device!: Device;

  @Property({ type: 'boolean', nullable: true })
  online?: boolean | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  lastSeenAt?: Date | null;

  @Property({ type: 'bigint', nullable: true })
  runCount?: string | null;

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'[]'::jsonb` })
  alerts: string[] = [];

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  lineage: LineageMap = {};

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
