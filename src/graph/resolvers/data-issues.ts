import type { MikroORM } from '@mikro-orm/postgresql';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../../auth/roles';
import { sqlOne, sqlRows } from '../../db/sql';
import { badInput, ErrorCode, JunctionError } from '../../errors/codes';
import { resolveDataIssue, SettableState } from '../../quality/resolve-issue';
import { RuleFileError } from '../../quality/rules';
import { QualityRunner } from '../../quality/runner';
import { actorOf, GraphContext } from '../context';
import { checkPageSize, decodeCursor, isBigintId, toPage } from '../types/connection';
import { Customer } from '../types/customer';
import { DataCheckRuleOutcome, DataCheckRun, DataIssue, DataIssueConnection, DataIssueFilter, DataIssueState } from '../types/data-issue';

/** One runner per database for runDataChecks: rules are loaded and compiled once per process. */
const runners = new WeakMap<MikroORM, QualityRunner>();

function runnerFor(orm: MikroORM): QualityRunner {
  let runner = runners.get(orm);
  if (!runner) {
    try {
      runner = new QualityRunner(orm);
    } catch (e) {
      if (e instanceof RuleFileError) throw new JunctionError(ErrorCode.INTERNAL_SERVER_ERROR, `The check rules are refused: ${e.message}`);
      throw e;
    }
    runners.set(orm, runner);
  }
  return runner;
}

@Resolver()
export class DataIssueResolver {
  @Authorized(Role.PORTAL)
  @Query(() => DataIssueConnection, { description: 'Data issues newest first, filtered, as a Relay connection.' })
  async dataIssues(
    @Ctx() ctx: GraphContext,
    @Arg('filter', () => DataIssueFilter, { nullable: true }) filter?: DataIssueFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<DataIssueConnection> {
    const size = checkPageSize(first);
    const afterId = decodeCursor(after);
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter?.kind != null) { where.push('kind = ?'); params.push(filter.kind); }
    if (filter?.severity != null) { where.push('severity = ?'); params.push(filter.severity); }
    if (filter?.state != null) { where.push('state = ?'); params.push(filter.state); }
    if (filter?.entityType != null) { where.push('entity_type = ?'); params.push(filter.entityType); }
    if (filter?.entityId != null) {
      if (!isBigintId(filter.entityId)) throw badInput(`"${filter.entityId}" is not an id`, 'filter.entityId');
      where.push('entity_id = ?');
      params.push(filter.entityId);
    }
    const paged = [...where, ...(afterId !== null ? ['id < ?'] : [])];
    const rows = await sqlRows<any>(ctx.orm,
      `select * from data_issue ${paged.length ? `where ${paged.join(' and ')}` : ''} order by id desc limit ?`,
      [...params, ...(afterId !== null ? [afterId] : []), size + 1]);
    return Object.assign(new DataIssueConnection(), {
      ...toPage(rows.map(DataIssue.fromRow), size, afterId !== null),
      count: async () => Number((await sqlOne<{ n: string }>(ctx.orm, `select count(*) as n from data_issue ${where.length ? `where ${where.join(' and ')}` : ''}`, params))!.n),
    });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => DataIssue, {
    description: 'Acknowledge, resolve or ignore a data issue (ignoring needs a reason). Audited. A later check run leaves the decision alone while the evidence stays the same.',
  })
  async resolveDataIssue(
    @Ctx() ctx: GraphContext,
    @Arg('id', () => ID) id: string,
    @Arg('state', () => DataIssueState) state: DataIssueState,
    @Arg('reason', () => String, { nullable: true }) reason?: string,
  ): Promise<DataIssue> {
    if (state === DataIssueState.OPEN) throw badInput('state must be ACKNOWLEDGED, RESOLVED or IGNORED (the checks reopen issues)', 'state');
    return DataIssue.fromRow(await resolveDataIssue(ctx.orm, id, state as SettableState, reason, actorOf(ctx)));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => DataCheckRun, { description: 'Run every check rule now, in this gateway, and return what each did. The worker also runs them after each sync and on a schedule.' })
  async runDataChecks(@Ctx() ctx: GraphContext): Promise<DataCheckRun> {
    const result = await runnerFor(ctx.orm).run({ trigger: `api:${actorOf(ctx).name}` });
    return Object.assign(new DataCheckRun(), {
      id: result.runId, trigger: result.trigger, status: result.status,
      rules: result.rules.map((r) => Object.assign(new DataCheckRuleOutcome(), {
        rule: r.rule, kind: r.kind ?? null, candidates: r.candidates ?? null, found: r.found ?? null, opened: r.opened ?? null,
        reopened: r.reopened ?? null, resolved: r.resolved ?? null, error: r.error ?? null, retired: r.retired ?? false,
      })),
    });
  }
}

@Resolver(() => DataIssueConnection)
export class DataIssueConnectionResolver {
  @FieldResolver(() => Int)
  totalCount(@Root() c: DataIssueConnection): Promise<number> {
    return c.count();
  }
}

@Resolver(() => Customer)
export class CustomerDataIssuesResolver {
  @FieldResolver(() => [DataIssue], { description: 'Data issues about this customer, its devices or its tickets, newest first (at most 200).' })
  async dataIssues(
    @Root() c: Customer,
    @Ctx() ctx: GraphContext,
    @Arg('state', () => [DataIssueState], { nullable: true, description: 'Only issues in these states.' }) state?: DataIssueState[],
  ): Promise<DataIssue[]> {
    // Filtered in SQL before the 200-row limit (filtering the newest 200 afterwards missed older OPEN issues).
    return (await ctx.loaders.dataIssuesByCustomer.load({ customerId: c.id, states: state })).map(DataIssue.fromRow);
  }
}
