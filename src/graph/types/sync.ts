import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from './connection';

export enum SyncRunStatus {
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  PARTIAL = 'PARTIAL',
  FAILED = 'FAILED',
}

export enum SyncRunMode {
  INCREMENTAL = 'incremental',
  FULL = 'full',
  REMAP = 'remap',
}

export enum SyncTrigger {
  CLI = 'cli',
  SCHEDULE = 'schedule',
  API = 'api',
  DEMO = 'demo',
}

registerEnumType(SyncRunStatus, {
  name: 'SyncRunStatus',
  valuesConfig: {
    RUNNING: { description: 'Still running (or the process running it died; it stays so).' },
    SUCCEEDED: { description: 'Every record fetched was stored and merged (or unchanged).' },
    PARTIAL: { description: 'The read finished but some records failed mapping, validation or merge.' },
    FAILED: { description: 'The run stopped: the source could not be read or the run was interrupted.' },
  },
});
registerEnumType(SyncRunMode, {
  name: 'SyncRunMode',
  valuesConfig: {
    INCREMENTAL: { description: 'Read from the stored cursor on.' },
    FULL: { description: 'Read the stream from the beginning.' },
    REMAP: { description: 'Re-applied the mapping to stored source records, nothing fetched.' },
  },
});
registerEnumType(SyncTrigger, { name: 'SyncTrigger', description: 'What started a run.' });

@ObjectType({ description: 'One run of one stream of a connector: what it fetched, skipped, merged and failed.' })
export class SyncRun {
  @Field(() => ID) id!: string;
  @Field({ description: 'Connector instance name from the config file (e.g. crm).' }) connector!: string;
  @Field() stream!: string;
  @Field(() => SyncRunMode) mode!: SyncRunMode;
  @Field(() => SyncRunStatus) status!: SyncRunStatus;
  @Field(() => SyncTrigger) trigger!: SyncTrigger;
  @Field() startedAt!: Date;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => Int, { nullable: true, description: 'finishedAt − startedAt; null while running.' }) durationMs!: number | null;
  @Field(() => Int) pages!: number;
  @Field(() => Int) fetched!: number;
  @Field(() => Int, { description: 'Fetched records whose content had not changed since the last run.' }) unchanged!: number;
  @Field(() => Int) merged!: number;
  @Field(() => Int, { description: 'Records that failed mapping, validation or merge (source_record status FAILED).' }) failed!: number;
  @Field(() => String, { nullable: true }) error!: string | null;
}

@ObjectType()
export class SyncRunEdge {
  @Field() cursor!: string;
  @Field(() => SyncRun) node!: SyncRun;
}

@ObjectType()
export class SyncRunConnection {
  @Field(() => [SyncRunEdge]) edges!: SyncRunEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  /** Counted only when asked for. */
  count!: () => Promise<number>;
}

@ObjectType({ description: 'A queued run of one stream.' })
export class SyncJob {
  @Field(() => ID, { description: 'BullMQ job id on the junction-sync queue.' }) id!: string;
  @Field() connector!: string;
  @Field() stream!: string;
  @Field({ description: 'Whether the queued run reads the stream from the beginning.' }) full!: boolean;
  @Field({ description: 'True when a run of this stream was already queued or running: that job is returned instead of a new one.' })
  deduplicated!: boolean;
}
