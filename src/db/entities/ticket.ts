import { Entity, Enum, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity, LineageMap } from './base';
import { Customer } from './customer';
import { Device } from './device';
import { TicketEventType, TicketPriority, TicketStatus } from '../../tickets/ticket-enums';

@Entity({ tableName: 'ticket' })
@Index({ name: 'ticket_customer_id_idx', expression: 'create index "ticket_customer_id_idx" on "ticket" ("customer_id", "id" desc)' })
@Index({ name: 'ticket_device_id_idx', expression: 'create index "ticket_device_id_idx" on "ticket" ("device_id", "id" desc)' })
@Index({ name: 'ticket_status_id_idx', expression: 'create index "ticket_status_id_idx" on "ticket" ("status", "id" desc)' })
export class Ticket extends BaseEntity {
  /** Human-readable number, e.g. T20260218-8892. */
  @Unique({ name: 'ticket_number_key' })
  @Property({ type: 'string', columnType: 'text' })
  number!: string;

  @ManyToOne(() => Customer, { deleteRule: 'restrict' })
  customer!: Customer;

  @ManyToOne(() => Device, { nullable: true, deleteRule: 'set null' })
  device?: Device | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  categoryL1?: string | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  categoryL2?: string | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  categoryL3?: string | null;

  @Enum({ items: () => TicketPriority, nativeEnumName: undefined, default: TicketPriority.P2 })
  priority: TicketPriority = TicketPriority.P2;

  @Enum({ items: () => TicketStatus, default: TicketStatus.NEW })
  status: TicketStatus = TicketStatus.NEW;

  @Property({ type: 'string', columnType: 'text' })
  fault!: string;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  solution?: string | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  blockingReason?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  eta?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  slaResponseDue?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  slaResolveDue?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  resolvedAt?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  closedAt?: Date | null;

  /** The device's model, or the model the caller reported when there is no device record. */
  @Property({ type: 'string', columnType: 'text', nullable: true })
  model?: string | null;

  /** A serial no device record has, kept because the caller insisted (with a reason, audited). */
  @Property({ type: 'string', columnType: 'text', nullable: true })
  reportedSerial?: string | null;

  /** Fields derived by mappings/ticket/enrich.jsonata (device age, warranty state, customer tier...). */
  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  derived: Record<string, unknown> = {};

  /** Per derived value: which system, record and field it came from, and when. */
  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'[]'::jsonb` })
  derivedLineage: unknown[] = [];

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  enrichedAt?: Date | null;

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  lineage: LineageMap = {};

  @Property({ type: 'string', columnType: 'text', nullable: true })
  createdBy?: string | null;

  @Property({ type: 'integer', version: true, default: 1 })
  version: number = 1;
}

/** One entry of a ticket's history, appended with every change. */
@Entity({ tableName: 'ticket_event' })
@Index({ name: 'ticket_event_ticket_idx', properties: ['ticket', 'id'] })
export class TicketEvent {
  @Property({ type: 'bigint', primary: true, autoincrement: true })
  id!: string;

  @ManyToOne(() => Ticket, { deleteRule: 'cascade' })
  ticket!: Ticket;

  @Enum({ items: () => TicketEventType })
  type!: TicketEventType;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  fromStatus?: string | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  toStatus?: string | null;

  /** field -> { before, after } */
  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  changes: Record<string, { before: unknown; after: unknown }> = {};

  @Property({ type: 'string', columnType: 'text', nullable: true })
  note?: string | null;

  @Property({ type: 'string', columnType: 'text' })
  actor!: string;

  @Property({ type: 'string', columnType: 'text' })
  origin!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  at: Date = new Date();
}

/** Per-day counter behind ticket numbers (T<yyyymmdd>-<n>). */
@Entity({ tableName: 'ticket_number_counter' })
export class TicketNumberCounter {
  @Property({ type: 'string', columnType: 'date', primary: true })
  day!: string;

  @Property({ type: 'integer' })
  last!: number;
}
