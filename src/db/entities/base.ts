import { PrimaryKey, Property } from '@mikro-orm/core';

/** Which source gave a golden field its value, and when. Stored per record as jsonb. */
export interface FieldLineage {
  system: string;
  stream?: string;
  externalId?: string;
  at: string;
  /** A value set by hand through the API survives later syncs until unpinned. */
  pinned?: boolean;
}

export type LineageMap = Record<string, FieldLineage>;

/** Surrogate bigint id (kept as a string in JS, as MikroORM maps bigint) and timestamps. */
export abstract class BaseEntity {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
