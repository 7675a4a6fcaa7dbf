import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Customer } from './customer';
import { Device } from './device';
import type { LineageMap } from './base';

/**
 * Staging: the raw record as a connector delivered it. Unchanged records (same content hash) are
 * skipped; `remap` re-applies mappings to these rows without refetching. connector, stream and
 * external_id are `collate "C"` (BulkCost migration; MikroORM cannot declare a collation).
 */
@Entity({ tableName: 'source_record' })
@Unique({ name: 'source_record_key', properties: ['connector', 'stream', 'externalId'] })
// Only records that did not merge (FAILED, PENDING) are indexed by status: most rows never are.
@Index({
  name: 'source_record_unmerged_idx',
  expression: `create index "source_record_unmerged_idx" on "source_record" ("connector", "stream", "status") where "status" <> 'MERGED'`,
})
// A ThingsBoard push without its device id finds the pulled record by device name (webhooks/service.ts).
@Index({
  name: 'source_record_device_name_idx',
  expression: `create index "source_record_device_name_idx" on "source_record" ("connector", (("payload" -> 'device') ->> 'name')) where "stream" = 'devices'`,
})
export class SourceRecordRow {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /** Configured connector instance name (e.g. crm). */
  @Property({ type: 'string', columnType: 'text' })
  connector!: string;

  @Property({ type: 'string', columnType: 'text' })
  stream!: string;

  @Property({ type: 'string', columnType: 'text' })
  externalId!: string;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  version?: string | null;

  /** The record as staged: json (text kept as written: the canonical JSON `hash` is computed from), not jsonb (migration RawPayload). */
  @Property({ type: 'json', columnType: 'json' })
  payload!: unknown;

  /** sha256 of the canonical JSON of the payload. */
  @Property({ type: 'string', columnType: 'text' })
  hash!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  fetchedAt: Date = new Date();

  /**
   * The time the record's values are dated by in lineage (survivorship's "most recent"): the
   * source's own SourceRecord.updatedAt, else when it was staged. remap and retries merge with it
   * again instead of now. Null for rows staged before it was kept (remap uses fetchedAt).
   */
  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  sourceUpdatedAt?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  mappedAt?: Date | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  mappingVersion?: string | null;

  /** PENDING, MERGED, FAILED */
  @Property({ type: 'string', columnType: 'text', default: 'PENDING' })
  status: string = 'PENDING';

  /** { code, message, field? } when mapping, validation or merge failed. */
  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  error?: unknown;
}

/** Where each stream's incremental read resumes; committed with the page it follows. */
@Entity({ tableName: 'sync_state' })
export class SyncState {
  @PrimaryKey({ type: 'string', columnType: 'text' })
  connector!: string;

  @PrimaryKey({ type: 'string', columnType: 'text' })
  stream!: string;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  cursor?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}

/** One run of one stream: what it fetched, skipped, merged and failed. */
@Entity({ tableName: 'sync_run' })
@Index({ name: 'sync_run_stream_idx', properties: ['connector', 'stream', 'id'] })
export class SyncRun {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', columnType: 'text' })
  connector!: string;

  @Property({ type: 'string', columnType: 'text' })
  stream!: string;

  /** incremental, full, remap */
  @Property({ type: 'string', columnType: 'text' })
  mode!: string;

  /** RUNNING, SUCCEEDED, PARTIAL (some records failed), FAILED */
  @Property({ type: 'string', columnType: 'text', default: 'RUNNING' })
  status: string = 'RUNNING';

  /** cli, schedule, api, demo */
  @Property({ type: 'string', columnType: 'text' })
  trigger!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  startedAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  finishedAt?: Date | null;

  @Property({ type: 'integer', default: 0 }) pages: number = 0;
  @Property({ type: 'integer', default: 0 }) fetched: number = 0;
  @Property({ type: 'integer', default: 0 }) unchanged: number = 0;
  @Property({ type: 'integer', default: 0 }) merged: number = 0;
  @Property({ type: 'integer', default: 0 }) failed: number = 0;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  error?: string | null;
}

/** A CRM complaint (Salesforce Case): open ones matter for tickets and data checks. */
@Entity({ tableName: 'complaint' })
export class Complaint {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Unique({ name: 'complaint_case_number_key' })
  @Property({ type: 'string', columnType: 'text' })
  caseNumber!: string;

  @Index({ name: 'complaint_customer_idx' })
  @ManyToOne(() => Customer, { nullable: true, deleteRule: 'set null' })
  customer?: Customer | null;

  @Index({ name: 'complaint_device_idx' })
  @ManyToOne(() => Device, { nullable: true, deleteRule: 'set null' })
  device?: Device | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  subject?: string | null;

  /** The Junction ticket the case names (subject, description or a ticket field), when it does. */
  @Index({ name: 'complaint_ticket_number_idx' })
  @Property({ type: 'string', columnType: 'text', nullable: true })
  ticketNumber?: string | null;

  /** OPEN or CLOSED */
  @Property({ type: 'string', columnType: 'text' })
  status!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  openedAt?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  closedAt?: Date | null;

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  lineage: LineageMap = {};

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}

/** Admin-saved versions of a mapping; the active one overrides the file. */
@Entity({ tableName: 'mapping_version' })
@Unique({ name: 'mapping_version_key', properties: ['name', 'version'] })
@Index({ name: 'mapping_version_one_active', expression: 'create unique index "mapping_version_one_active" on "mapping_version" ("name") where "active"' })
export class MappingVersion {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', columnType: 'text' })
  name!: string;

  @Property({ type: 'integer' })
  version!: number;

  @Property({ type: 'string', columnType: 'text' })
  source!: string;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  comment?: string | null;

  @Property({ type: 'string', columnType: 'text' })
  createdBy!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'boolean', default: false })
  active: boolean = false;
}
