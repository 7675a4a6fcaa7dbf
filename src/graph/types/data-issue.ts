import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from './connection';
import { JSONObject, pgDate } from './scalars';

export enum DataIssueState {
  OPEN = 'OPEN',
  ACKNOWLEDGED = 'ACKNOWLEDGED',
  RESOLVED = 'RESOLVED',
  IGNORED = 'IGNORED',
}

export enum DataIssueSeverity {
  INFO = 'INFO',
  WARNING = 'WARNING',
  ERROR = 'ERROR',
}

registerEnumType(DataIssueState, {
  name: 'DataIssueState',
  valuesConfig: {
    OPEN: { description: 'Found and not handled yet.' },
    ACKNOWLEDGED: { description: 'A person has seen it; reopens when its evidence changes, closes when it disappears.' },
    RESOLVED: { description: 'Fixed: by a person, or closed by the check run that no longer found it (resolvedBy).' },
    IGNORED: { description: 'A person decided to leave it (with a reason); reopens only when its evidence changes.' },
  },
});
registerEnumType(DataIssueSeverity, { name: 'DataIssueSeverity' });

@ObjectType({ description: 'A problem found in the data: a cross-system disagreement, a stalled ticket, a repeat failure, a possible duplicate.' })
export class DataIssue {
  @Field(() => ID) id!: string;
  @Field({ description: 'What kind of problem: STATUS_MISMATCH, WARRANTY_MISMATCH, OWNER_CONFLICT, NAME_MISMATCH, UNSOLD_DEVICE_REPORTING, TICKET_STALLED, SLA_BREACHED, REPEAT_FAILURE, POSSIBLE_DUPLICATE…' })
  kind!: string;
  @Field(() => DataIssueSeverity) severity!: DataIssueSeverity;
  @Field(() => DataIssueState) state!: DataIssueState;
  @Field(() => String, { nullable: true, description: 'customer, device, ticket or model.' }) entityType!: string | null;
  @Field(() => ID, { nullable: true }) entityId!: string | null;
  @Field({ description: 'Stable identity of the finding: the same problem found again updates this issue.' }) fingerprint!: string;
  @Field() message!: string;
  @Field(() => JSONObject, { description: 'The values each system holds, as the check saw them.' }) evidence!: Record<string, unknown>;
  @Field(() => String, { nullable: true, description: 'The check rule that found it (mappings/quality/rules.json); null when raised by sync.' }) rule!: string | null;
  @Field() firstSeen!: Date;
  @Field() lastSeen!: Date;
  @Field(() => Date, { nullable: true }) resolvedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Who closed it: apikey:<name>, or the run that no longer found it (sync:<connector>/<stream> run <n>, schedule…).' })
  resolvedBy!: string | null;
  @Field(() => String, { nullable: true, description: 'The reason given when it was ignored, acknowledged or resolved by a person.' }) resolutionNote!: string | null;

  static fromRow(r: any): DataIssue {
    return Object.assign(new DataIssue(), {
      id: String(r.id), kind: r.kind, severity: r.severity, state: r.state, entityType: r.entity_type ?? null,
      entityId: r.entity_id == null ? null : String(r.entity_id), fingerprint: r.fingerprint, message: r.message,
      evidence: r.evidence ?? {}, rule: r.rule ?? null, firstSeen: pgDate(r.first_seen), lastSeen: pgDate(r.last_seen),
      resolvedAt: pgDate(r.resolved_at), resolvedBy: r.resolved_by ?? null, resolutionNote: r.resolution_note ?? null,
    });
  }
}

@InputType({ description: 'Every given field must match.' })
export class DataIssueFilter {
  @Field(() => String, { nullable: true }) kind?: string;
  @Field(() => DataIssueSeverity, { nullable: true }) severity?: DataIssueSeverity;
  @Field(() => DataIssueState, { nullable: true }) state?: DataIssueState;
  @Field(() => String, { nullable: true }) entityType?: string;
  @Field(() => ID, { nullable: true }) entityId?: string;
}

@ObjectType()
export class DataIssueEdge {
  @Field() cursor!: string;
  @Field(() => DataIssue) node!: DataIssue;
}

@ObjectType()
export class DataIssueConnection {
  @Field(() => [DataIssueEdge]) edges!: DataIssueEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  /** Counted only when asked for. */
  count!: () => Promise<number>;
}

@ObjectType({ description: 'What one check rule did in a run.' })
export class DataCheckRuleOutcome {
  @Field() rule!: string;
  @Field(() => String, { nullable: true }) kind!: string | null;
  @Field(() => Int, { nullable: true, description: 'Rows the rule looked at.' }) candidates!: number | null;
  @Field(() => Int, { nullable: true }) found!: number | null;
  @Field(() => Int, { nullable: true }) opened!: number | null;
  @Field(() => Int, { nullable: true }) reopened!: number | null;
  @Field(() => Int, { nullable: true, description: 'Findings closed because the rule no longer finds them.' }) resolved!: number | null;
  @Field(() => String, { nullable: true, description: 'Why the rule was skipped (does not compile, threw).' }) error!: string | null;
  @Field({ description: 'The rule is no longer in the rules file or is disabled: this run closed its open findings (resolved).' }) retired!: boolean;
}

@ObjectType({ description: 'One run of the cross-system checks.' })
export class DataCheckRun {
  @Field(() => ID) id!: string;
  @Field() trigger!: string;
  @Field({ description: 'SUCCEEDED, or PARTIAL when some rules failed and were skipped.' }) status!: string;
  @Field(() => [DataCheckRuleOutcome]) rules!: DataCheckRuleOutcome[];
}
