import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * Where a golden record came from: one row per (system, stream, external id, entity type) — one
 * source record can feed several entities (an IoT device gives a device and its telemetry).
 * The four key columns are `collate "C"` (BulkCost migration; MikroORM cannot declare a collation).
 */
@Entity({ tableName: 'source_link' })
@Unique({ name: 'source_link_external_key', properties: ['system', 'stream', 'externalId', 'entityType'] })
@Index({ name: 'source_link_entity_idx', properties: ['entityType', 'entityId'] })
export class SourceLink {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', columnType: 'text' })
  system!: string;

  @Property({ type: 'string', columnType: 'text' })
  stream!: string;

  @Property({ type: 'string', columnType: 'text' })
  externalId!: string;

  @Property({ type: 'string', columnType: 'text' })
  entityType!: string;

  @Property({ type: 'bigint' })
  entityId!: string;

  /** Version, etag or modstamp last seen at the source. */
  @Property({ type: 'string', columnType: 'text', nullable: true })
  version?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  seenAt: Date = new Date();
}

/** Append-only record of every field change (a trigger refuses UPDATE and DELETE). */
@Entity({ tableName: 'audit_log' })
@Index({ name: 'audit_log_entity_idx', properties: ['entityType', 'entityId', 'id'] })
export class AuditLog {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /** `collate "C"` (BulkCost migration). */
  @Property({ type: 'string', columnType: 'text' })
  entityType!: string;

  @Property({ type: 'bigint' })
  entityId!: string;

  @Property({ type: 'string', columnType: 'text' })
  field!: string;

  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  before?: unknown;

  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  after?: unknown;

  /** Who: api key name, connector name, 'system'. */
  @Property({ type: 'string', columnType: 'text' })
  actor!: string;

  /** Through what: graphql, sync:<connector>, excel:<file>:<row>, demo. */
  @Property({ type: 'string', columnType: 'text' })
  origin!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  at: Date = new Date();
}

/** A problem found in the data that a person should look at. */
@Entity({ tableName: 'data_issue' })
@Index({ name: 'data_issue_entity_idx', properties: ['entityType', 'entityId'] })
@Index({ name: 'data_issue_state_idx', properties: ['state', 'kind'] })
@Index({ name: 'data_issue_rule_idx', properties: ['rule', 'state'] })
export class DataIssue {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', columnType: 'text' })
  kind!: string;

  @Property({ type: 'string', columnType: 'text', default: 'WARNING' })
  severity: string = 'WARNING';

  /** OPEN, ACKNOWLEDGED, RESOLVED, IGNORED */
  @Property({ type: 'string', columnType: 'text', default: 'OPEN' })
  state: string = 'OPEN';

  @Property({ type: 'string', columnType: 'text', nullable: true })
  entityType?: string | null;

  @Property({ type: 'bigint', nullable: true })
  entityId?: string | null;

  /** Same finding seen again updates last_seen instead of adding a row. */
  @Unique({ name: 'data_issue_fingerprint_key' })
  @Property({ type: 'string', columnType: 'text' })
  fingerprint!: string;

  @Property({ type: 'string', columnType: 'text' })
  message!: string;

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` })
  evidence: Record<string, unknown> = {};

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  firstSeen: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  lastSeen: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  resolvedAt?: Date | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  resolutionNote?: string | null;

  /** The check rule that found it (src/quality); null for issues raised elsewhere (sync merge). */
  @Property({ type: 'string', columnType: 'text', nullable: true })
  rule?: string | null;

  /** Who or what closed it: `sync:<connector>/<stream> run <n>`, `schedule`, `apikey:<name>`. */
  @Property({ type: 'string', columnType: 'text', nullable: true })
  resolvedBy?: string | null;
}

/** One run of the cross-system checks: per rule what it found, opened, closed, or why it failed. */
@Entity({ tableName: 'quality_run' })
export class QualityRun {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /** What started it: `sync:<connector>/<stream> run <n>`, `schedule`, `cli`, `api`. */
  @Property({ type: 'string', columnType: 'text' })
  trigger!: string;

  /** RUNNING, SUCCEEDED, PARTIAL (some rules failed and were skipped) */
  @Property({ type: 'string', columnType: 'text', default: 'RUNNING' })
  status: string = 'RUNNING';

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  startedAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  finishedAt?: Date | null;

  @Property({ type: 'json', columnType: 'jsonb', defaultRaw: `'[]'::jsonb` })
  summary: unknown[] = [];
}

/**
 * API keys: only a SHA-256 of the key is stored (keys are long random strings, so a fast hash
 * is enough); the unique hash finds the row. The prefix is kept for people to recognise a key.
 */
@Entity({ tableName: 'api_key' })
export class ApiKey {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', columnType: 'text' })
  name!: string;

  /** portal | admin | batch */
  @Property({ type: 'string', columnType: 'text' })
  role!: string;

  @Property({ type: 'string', columnType: 'text' })
  prefix!: string;

  @Unique({ name: 'api_key_hash_key' })
  @Property({ type: 'string', columnType: 'text' })
  keyHash!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  revokedAt?: Date | null;
}
