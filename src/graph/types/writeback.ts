import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from './connection';
import { pgDate } from './scalars';

export enum WriteBackStatus {
  PENDING = 'PENDING',
  QUEUED = 'QUEUED',
  RETRYING = 'RETRYING',
  APPLIED = 'APPLIED',
  SKIPPED = 'SKIPPED',
  CONFLICT = 'CONFLICT',
  DEAD = 'DEAD',
  DISCARDED = 'DISCARDED',
}

registerEnumType(WriteBackStatus, {
  name: 'WriteBackStatus',
  valuesConfig: {
    PENDING: { description: 'Committed with the ticket change, not yet on the queue.' },
    QUEUED: { description: 'On the junction-writeback queue.' },
    RETRYING: { description: 'Failed or waiting (rate limit, connector not configured); will run again. lastError says why.' },
    APPLIED: { description: 'The target has it (duplicate = it already had it when a retry looked).' },
    SKIPPED: { description: 'Not written: a newer write to the same record was already applied (stale).' },
    CONFLICT: { description: 'Not written: the target changed since Junction saw it and wins; a WRITEBACK_CONFLICT data issue asks a person.' },
    DEAD: { description: 'Given up: the target refused it, its mapping failed, or the attempts ran out. lastError has the reason.' },
    DISCARDED: { description: 'An admin decided it will not be written.' },
  },
});

@ObjectType({ description: 'One write of a ticket change, or one push of an imported Excel row, to one connector (the outbox row and what became of it).' })
export class WriteBack {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true, description: 'The ticket whose change this is; null for an Excel push (see origin).' }) ticketNumber!: string | null;
  @Field(() => Int, { nullable: true, description: 'Ticket version the write carries.' }) ticketVersion!: number | null;
  @Field(() => String, { nullable: true, description: 'Where a write not tied to a ticket came from: excel:<template>:<file>#<sheet>!<row>.' }) origin!: string | null;
  @Field({ description: 'Route in src/writeback/routes.json, or excel:<template>:<push name> for an Excel push.' }) route!: string;
  @Field({ description: 'Connector instance name (e.g. crm).' }) connector!: string;
  @Field() operation!: string;
  @Field({ description: 'Outbound mapping, mappings/<type>/<target>.out.jsonata.' }) mapping!: string;
  @Field({ description: 'The target record; writes to one record apply in order.' }) targetKey!: string;
  @Field(() => String, { nullable: true, description: 'Vendor id of the record written to (Account, Case, device...).' }) targetId!: string | null;
  @Field(() => WriteBackStatus) status!: WriteBackStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => String, { nullable: true, description: 'Why it failed or waits, with the vendor message.' }) lastError!: string | null;
  @Field(() => String, { nullable: true, description: 'ConnectorError code of the last failure (or WRITEBACK_CONFLICT).' }) errorCode!: string | null;
  @Field(() => String, { nullable: true, description: 'Vendor id of the record written (a created note, the Case...).' }) externalId!: string | null;
  @Field({ description: 'The target already had this write when a retry looked for it.' }) duplicate!: boolean;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) relayedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;

  static fromRow(r: any): WriteBack {
    return Object.assign(new WriteBack(), {
      id: String(r.id),
      ticketNumber: r.ticket_number ?? null,
      ticketVersion: r.ticket_version ?? null,
      origin: r.origin ?? null,
      route: r.route,
      connector: r.connector,
      operation: r.operation,
      mapping: r.mapping,
      targetKey: r.target_key,
      targetId: r.target_id ?? null,
      status: r.status,
      attempts: r.attempts,
      lastError: r.last_error?.message ?? null,
      errorCode: r.last_error?.code ?? null,
      externalId: r.result?.externalId ?? null,
      duplicate: r.result?.duplicate === true,
      createdAt: pgDate(r.created_at)!,
      relayedAt: pgDate(r.relayed_at),
      finishedAt: pgDate(r.finished_at),
    });
  }
}

/** Columns WriteBack.fromRow reads (the payload stays in the database). */
export const WRITEBACK_COLUMNS = `id, ticket_id, ticket_number, ticket_version, origin, route, connector, operation, mapping, target_key,
  payload -> 'target' ->> 'externalId' as target_id, status, attempts, last_error, result, created_at, relayed_at, finished_at`;

@ObjectType()
export class WriteBackEdge {
  @Field() cursor!: string;
  @Field(() => WriteBack) node!: WriteBack;
}

@ObjectType()
export class WriteBackConnection {
  @Field(() => [WriteBackEdge]) edges!: WriteBackEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  count!: () => Promise<number>;
}
