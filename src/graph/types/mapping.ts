import { Field, Int, ObjectType } from 'type-graphql';
import { JSONResolver } from 'graphql-scalars';
import type { MappingSummary, MappingVersionRecord, PreviewResult, PreviewRow } from '../../mapping/store';

/** Any JSON value (object, array, string, number, boolean, null): source payloads and mapping outputs. */
export const JSONValue = JSONResolver;

@ObjectType({ description: 'Saved past failing fixtures: why, and which fixtures failed.' })
export class MappingForce {
  @Field() reason!: string;
  @Field(() => [String]) failingFixtures!: string[];
}

@ObjectType({ description: 'An admin-saved version of a mapping.' })
export class MappingVersionInfo {
  @Field(() => Int) version!: number;
  @Field(() => String, { nullable: true }) comment!: string | null;
  @Field({ description: 'Who saved it (apikey:<name>).' }) createdBy!: string;
  @Field() createdAt!: Date;
  @Field({ description: 'This version overrides the file.' }) active!: boolean;
  @Field() source!: string;
  @Field(() => MappingForce, { nullable: true }) forced!: MappingForce | null;

  static from(v: MappingVersionRecord): MappingVersionInfo {
    return Object.assign(new MappingVersionInfo(), {
      version: v.version, comment: v.comment, createdBy: v.createdBy, createdAt: v.createdAt, active: v.active, source: v.source,
      forced: v.forced ? Object.assign(new MappingForce(), v.forced) : null,
    });
  }
}

@ObjectType({ description: 'A JSONata mapping: the file under mappings/ is the default; an active saved version overrides it.' })
export class MappingInfo {
  @Field({ description: '<connector type>/<stream>, e.g. kingdee/customers.' }) name!: string;
  @Field(() => Int, { nullable: true, description: 'The saved version in force; null = the file.' }) activeVersion!: number | null;
  @Field(() => String, { nullable: true, description: 'file:<sha256 prefix> of the file; null when there is no file.' }) fileVersion!: string | null;
  @Field({ description: 'What the engine runs: v<n> or the file version.' }) inForce!: string;
  @Field(() => Date, { nullable: true, description: 'Last save or rollback; null while the file has always been in force.' }) updatedAt!: Date | null;
  @Field({ description: 'The expression in force.' }) source!: string;
  @Field(() => String, { nullable: true, description: 'The file default.' }) fileSource!: string | null;
  @Field(() => Int, { description: 'Fixtures a saved version must pass.' }) fixtureCount!: number;
  @Field(() => [MappingVersionInfo], { description: 'Saved versions, newest first.' }) versions!: MappingVersionInfo[];

  static from(m: MappingSummary): MappingInfo {
    return Object.assign(new MappingInfo(), { ...m, versions: m.versions.map((v) => MappingVersionInfo.from(v)) });
  }
}

@ObjectType({ description: 'Why one record did not map.' })
export class MappingPreviewError {
  @Field({ description: 'MAPPING_FAILED, MAPPING_TIMEOUT, MAPPING_INVALID_OUTPUT...' }) code!: string;
  @Field() message!: string;
  @Field(() => Int, { nullable: true, description: 'Position in the expression, when JSONata gives one.' }) position!: number | null;
  @Field(() => String, { nullable: true }) field!: string | null;
}

@ObjectType({ description: 'One stored source record, what the expression made of it, or why it failed.' })
export class MappingPreviewRow {
  @Field({ description: 'Configured connector instance.' }) connector!: string;
  @Field() stream!: string;
  @Field() externalId!: string;
  @Field(() => String, { nullable: true }) version!: string | null;
  @Field() fetchedAt!: Date;
  @Field(() => JSONValue, { nullable: true, description: 'The stored payload (the expression input).' }) input!: unknown;
  @Field(() => JSONValue, { nullable: true }) output!: unknown;
  @Field(() => MappingPreviewError, { nullable: true }) error!: MappingPreviewError | null;

  static from(r: PreviewRow): MappingPreviewRow {
    return Object.assign(new MappingPreviewRow(), {
      ...r,
      error: r.error
        ? Object.assign(new MappingPreviewError(), { code: r.error.code, message: r.error.message, position: r.error.position ?? null, field: r.error.field ?? null })
        : null,
    });
  }
}

@ObjectType({ description: 'An expression run against stored source records in the sandbox; nothing written.' })
export class MappingPreview {
  @Field() mapping!: string;
  @Field({ description: 'draft for a given source, else what is in force (v<n> or file:<sha>).' }) expressionVersion!: string;
  @Field(() => Int) ok!: number;
  @Field(() => Int) failed!: number;
  @Field({ description: 'The time budget ran out: the sandbox was stopped and unfinished rows carry MAPPING_TIMEOUT.' }) timedOut!: boolean;
  @Field(() => Int) budgetMs!: number;
  @Field(() => [MappingPreviewRow], { description: 'Newest records first.' }) rows!: MappingPreviewRow[];

  static from(p: PreviewResult): MappingPreview {
    return Object.assign(new MappingPreview(), { ...p, rows: p.rows.map((r) => MappingPreviewRow.from(r)) });
  }
}

@ObjectType({ description: 'A fixture the saved expression does not pass.' })
export class MappingFixtureFailure {
  @Field() fixture!: string;
  @Field() message!: string;
  @Field(() => String, { nullable: true, description: 'The mapping error code when the expression failed (e.g. MAPPING_TIMEOUT); null for a wrong output.' })
  code!: string | null;
}

@ObjectType({ description: 'A saved version, now in force.' })
export class MappingSaveResult {
  @Field(() => MappingInfo) mapping!: MappingInfo;
  @Field(() => Int) version!: number;
  @Field(() => Int, { description: 'Fixtures run against the expression before it was saved.' }) fixturesRun!: number;
  @Field(() => [MappingFixtureFailure], { description: 'Empty unless saved with force past failing fixtures.' }) failingFixtures!: MappingFixtureFailure[];
}
