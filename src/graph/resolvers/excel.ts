import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { Role } from '../../auth/roles';
import { findJob } from '../../excel/jobs';
import { jobJson } from '../../excel/http';
import type { GraphContext } from '../context';
import { ExcelFileProblem, ExcelJob, ExcelJobStatus } from '../types/excel';

@Resolver()
export class ExcelResolver {
  @Authorized(Role.BATCH)
  @Query(() => ExcelJob, { nullable: true, description: 'An Excel import job by id (admin and batch keys); null when there is none.' })
  async excelJob(@Ctx() ctx: GraphContext, @Arg('id', () => ID) id: string): Promise<ExcelJob | null> {
    const row = await findJob(ctx.orm, id);
    if (!row) return null;
    const j = jobJson(row);
    const e = j.error as Record<string, any> | null;
    return Object.assign(new ExcelJob(), {
      ...j,
      status: j.status as ExcelJobStatus,
      createdAt: new Date(j.createdAt!),
      startedAt: j.startedAt ? new Date(j.startedAt) : null,
      finishedAt: j.finishedAt ? new Date(j.finishedAt) : null,
      error: e ? Object.assign(new ExcelFileProblem(), {
        code: String(e.code), message: String(e.message), file: String(e.file ?? j.fileName), sheet: e.sheet ?? null, row: e.row ?? null, column: e.column ?? null,
      }) : null,
    });
  }
}
