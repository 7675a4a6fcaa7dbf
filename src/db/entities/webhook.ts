import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * One webhook delivery a connector instance pushed and Junction accepted (sender verified): the
 * raw body as received and what processing it did. Unverified requests are never stored. A
 * delivery with the same dedupe key (event id, notification ids or signature) is acknowledged
 * without processing again, and only counted in `deliveries` (src/webhooks/store.ts).
 */
@Entity({ tableName: 'webhook_event' })
@Unique({ name: 'webhook_event_dedupe_key', properties: ['connector', 'dedupeKey'] })
@Index({ name: 'webhook_event_connector_idx', properties: ['connector', 'id'] })
@Index({ name: 'webhook_event_status_idx', properties: ['status', 'id'] })
export class WebhookEvent {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /** Configured connector instance name (e.g. crm). */
  @Property({ type: 'string', columnType: 'text' })
  connector!: string;

  /** salesforce.outbound-message, salesforce.json, thingsboard.telemetry, thingsboard.attributes */
  @Property({ type: 'string', columnType: 'text' })
  kind!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  receivedAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  processedAt?: Date | null;

  /** sha256 of what identifies the delivery (never a signature itself). */
  @Property({ type: 'string', columnType: 'text' })
  dedupeKey!: string;

  /** The source records it carried: [{stream, externalId}]. */
  @Property({ type: 'json', columnType: 'jsonb', default: `'[]'` })
  externalIds: unknown = [];

  @Property({ type: 'string', columnType: 'text', nullable: true })
  contentType?: string | null;

  /** The raw body as received (XML or JSON text). */
  @Property({ type: 'string', columnType: 'text' })
  payload!: string;

  /** PROCESSED, PARTIAL (some records failed mapping or merge), FAILED (nothing merged: malformed or wrong shape). */
  @Property({ type: 'string', columnType: 'text' })
  status!: string;

  /** { code, message, records?: [{externalId, code, message}] } */
  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  error?: unknown;

  @Property({ type: 'integer', default: 0 }) records: number = 0;
  @Property({ type: 'integer', default: 0 }) merged: number = 0;
  @Property({ type: 'integer', default: 0 }) unchanged: number = 0;
  @Property({ type: 'integer', default: 0 }) failed: number = 0;

  /** Times the sender delivered it (retries and replays acknowledged without processing). */
  @Property({ type: 'integer', default: 1 }) deliveries: number = 1;
}
