import { Check, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One write-back to one target, written in the same transaction as the change it carries (the
 * transactional outbox): a ticket change, or an imported Excel row pushed on to a legacy system
 * (no ticket; `origin` names the file row). The relay moves PENDING rows to BullMQ (job id = this id); the
 * write-back worker applies them and records the outcome here. Status: PENDING, QUEUED, RETRYING,
 * APPLIED, SKIPPED (stale or nothing to do), CONFLICT (a person must decide), DEAD, DISCARDED.
 */
@Entity({ tableName: 'writeback_outbox' })
@Index({ name: 'writeback_outbox_pending_idx', expression: `create index "writeback_outbox_pending_idx" on "writeback_outbox" ("id") where "status" = 'PENDING'` })
@Index({ name: 'writeback_outbox_ticket_idx', properties: ['ticketId', 'id'] })
@Index({ name: 'writeback_outbox_target_idx', properties: ['targetKey', 'id'] })
@Index({ name: 'writeback_outbox_status_idx', properties: ['status', 'id'] })
@Index({ name: 'writeback_outbox_origin_idx', expression: `create index "writeback_outbox_origin_idx" on "writeback_outbox" ("origin" text_pattern_ops, "id") where "origin" is not null` })
@Check({ name: 'writeback_outbox_origin_check', expression: '"ticket_id" is not null or "origin" is not null' })
export class WritebackOutbox {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /** The ticket whose change this write carries; null for a push of an imported Excel row. */
  @Property({ type: 'bigint', nullable: true })
  ticketId?: string | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  ticketNumber?: string | null;

  /** The ticket's version after the change (what the write says about the ticket). */
  @Property({ type: 'integer', nullable: true })
  ticketVersion?: number | null;

  /** Where a write not tied to a ticket came from: `excel:<template>:<file>#<sheet>!<row>`. */
  @Property({ type: 'string', columnType: 'text', nullable: true })
  origin?: string | null;

  /** Excel push: the hash of the row content it carries (excel_row.row_hash). */
  @Property({ type: 'string', columnType: 'text', nullable: true })
  rowHash?: string | null;

  /** The route (src/writeback/routes.json) that asked for this write. */
  @Property({ type: 'string', columnType: 'text' })
  route!: string;

  /** Connector instance name from junction.config.yaml. */
  @Property({ type: 'string', columnType: 'text' })
  connector!: string;

  /** The connector's write operation. */
  @Property({ type: 'string', columnType: 'text' })
  operation!: string;

  /** Outbound mapping `<connector type>/<target>` (mappings/<type>/<target>.out.jsonata). */
  @Property({ type: 'string', columnType: 'text' })
  mapping!: string;

  /** The target record (`<connector>:<route target>:<external id>`): writes to it apply in id order. */
  @Property({ type: 'string', columnType: 'text' })
  targetKey!: string;

  /** The canonical change the outbound mapping turns into the vendor's payload. */
  @Property({ type: 'json', columnType: 'jsonb' })
  payload!: Record<string, unknown>;

  @Property({ type: 'string', columnType: 'text', default: 'PENDING' })
  status: string = 'PENDING';

  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  lastError?: Record<string, unknown> | null;

  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  result?: Record<string, unknown> | null;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  relayedAt?: Date | null;

  /** First time a worker took the job (commit-to-pickup latency). */
  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  pickedAt?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  finishedAt?: Date | null;
}

/** The local ledger of idempotency keys a target has applied: a job run twice finds its key here. */
@Entity({ tableName: 'writeback_applied' })
export class WritebackApplied {
  @PrimaryKey({ type: 'string', columnType: 'text' })
  idempotencyKey!: string;

  @Property({ type: 'bigint' })
  outboxId!: string;

  @Property({ type: 'string', columnType: 'text' })
  connector!: string;

  @Property({ type: 'string', columnType: 'text' })
  targetKey!: string;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  externalId?: string | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  version?: string | null;

  /** The target already had it (a retry after a lost response). */
  @Property({ type: 'boolean', default: false })
  duplicate: boolean = false;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  appliedAt: Date = new Date();
}
