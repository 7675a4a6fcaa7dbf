import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../../auth/roles';
import { sqlOne, sqlRows } from '../../db/sql';
import { ErrorCode, JunctionError } from '../../errors/codes';
import type { GraphContext } from '../context';
import { checkPageSize, decodeCursor, toPage } from '../types/connection';
import { pgDate } from '../types/scalars';
import { SyncJob, SyncRun, SyncRunConnection, SyncRunStatus } from '../types/sync';

interface SyncRunRow {
  id: string;
  connector: string;
  stream: string;
  mode: string;
  status: string;
  trigger: string;
  started_at: Date | string;
  finished_at: Date | string | null;
  pages: number;
  fetched: number;
  unchanged: number;
  merged: number;
  failed: number;
  error: string | null;
}

function toSyncRun(r: SyncRunRow): SyncRun {
  const startedAt = pgDate(r.started_at)!;
  const finishedAt = pgDate(r.finished_at);
  return Object.assign(new SyncRun(), {
    id: String(r.id),
    connector: r.connector,
    stream: r.stream,
    mode: r.mode,
    status: r.status,
    trigger: r.trigger,
    startedAt,
    finishedAt,
    durationMs: finishedAt ? finishedAt.getTime() - startedAt.getTime() : null,
    pages: r.pages,
    fetched: r.fetched,
    unchanged: r.unchanged,
    merged: r.merged,
    failed: r.failed,
    error: r.error,
  });
}

@Resolver()
export class SyncResolver {
  @Authorized(Role.BATCH)
  @Query(() => SyncRunConnection, { description: 'Sync runs newest first, optionally of one connector, stream or status (admin and batch keys).' })
  async syncRuns(
    @Ctx() ctx: GraphContext,
    @Arg('connector', () => String, { nullable: true }) connector?: string,
    @Arg('stream', () => String, { nullable: true }) stream?: string,
    @Arg('status', () => SyncRunStatus, { nullable: true }) status?: SyncRunStatus,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<SyncRunConnection> {
    const size = checkPageSize(first);
    const afterId = decodeCursor(after);
    const where: string[] = [];
    const params: unknown[] = [];
    if (connector != null) { where.push('connector = ?'); params.push(connector); }
    if (stream != null) { where.push('stream = ?'); params.push(stream); }
    if (status != null) { where.push('status = ?'); params.push(status); }
    const filter = where.length ? `where ${where.join(' and ')}` : '';
    const paged = [...where, ...(afterId !== null ? ['id < ?'] : [])];
    const rows = await sqlRows<SyncRunRow>(
      ctx.orm,
      `select id, connector, stream, mode, status, trigger, started_at, finished_at, pages, fetched, unchanged, merged, failed, error
         from sync_run ${paged.length ? `where ${paged.join(' and ')}` : ''}
        order by id desc limit ?`,
      [...params, ...(afterId !== null ? [afterId] : []), size + 1],
    );
    return Object.assign(new SyncRunConnection(), {
      ...toPage(rows.map((r) => toSyncRun(r)), size, afterId !== null),
      count: async () => Number((await sqlOne<{ n: string }>(ctx.orm, `select count(*) as n from sync_run ${filter}`, params))!.n),
    });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => [SyncJob], {
    description:
      'Queue a run of one stream, or of every stream of the connector when stream is omitted. A stream already queued or running is not queued twice: its job comes back with deduplicated = true.',
  })
  async runSync(
    @Ctx() ctx: GraphContext,
    @Arg('connector') connector: string,
    @Arg('stream', () => String, { nullable: true }) stream?: string,
    @Arg('full', () => Boolean, { nullable: true, defaultValue: false, description: 'Read from the beginning instead of the stored cursor.' }) full?: boolean,
  ): Promise<SyncJob[]> {
    if (!ctx.sync) throw new JunctionError(ErrorCode.INTERNAL_SERVER_ERROR, 'This gateway has no sync queue configured');
    const jobs = await ctx.sync.request(connector, stream ?? null, full ?? false, 'api');
    return jobs.map((j) => Object.assign(new SyncJob(), { id: j.jobId, connector: j.connector, stream: j.stream, full: j.full, deduplicated: j.deduplicated }));
  }
}

@Resolver(() => SyncRunConnection)
export class SyncRunConnectionResolver {
  @FieldResolver(() => Int)
  totalCount(@Root() c: SyncRunConnection): Promise<number> {
    return c.count();
  }
}
