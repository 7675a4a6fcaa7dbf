import { Arg, Authorized, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../../auth/roles';
import { ErrorCode, JunctionError } from '../../errors/codes';
import type { MappingStore } from '../../mapping/store';
import { actorOf, GraphContext } from '../context';
import { MappingFixtureFailure, MappingInfo, MappingPreview, MappingSaveResult } from '../types/mapping';

function storeOf(ctx: GraphContext): MappingStore {
  if (!ctx.mappings) throw new JunctionError(ErrorCode.INTERNAL_SERVER_ERROR, 'Mapping administration is not set up on this gateway');
  return ctx.mappings;
}

/** Admin API for the JSONata mappings: files are the defaults, saved versions override them. */
@Resolver()
export class MappingResolver {
  @Authorized(Role.ADMIN)
  @Query(() => [MappingInfo], { description: 'Every mapping: the files under mappings/ and names that exist only as saved versions.' })
  async mappings(@Ctx() ctx: GraphContext): Promise<MappingInfo[]> {
    return (await storeOf(ctx).list()).map((m) => MappingInfo.from(m));
  }

  @Authorized(Role.ADMIN)
  @Query(() => MappingInfo, { nullable: true, description: 'One mapping with its source and versions; NOT_FOUND for an unknown name.' })
  async mapping(@Arg('name') name: string, @Ctx() ctx: GraphContext): Promise<MappingInfo> {
    return MappingInfo.from(await storeOf(ctx).get(name));
  }

  @Authorized(Role.ADMIN)
  @Query(() => MappingPreview, {
    description:
      'Runs `source` (default: the mapping in force) in a sandbox with a time budget against the latest stored source records of ' +
      "the mapping's stream (optionally of one connector instance): outputs and errors side by side. Writes nothing.",
  })
  async previewMapping(
    @Arg('name') name: string,
    @Arg('source', () => String, { nullable: true }) source: string | null,
    @Arg('limit', () => Int, { defaultValue: 20, description: 'Latest this many records, at most 200.' }) limit: number,
    @Arg('connector', () => String, { nullable: true, description: 'Configured connector instance name.' }) connector: string | null,
    @Ctx() ctx: GraphContext,
  ): Promise<MappingPreview> {
    return MappingPreview.from(await storeOf(ctx).preview(name, { source, limit, connector }));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => MappingSaveResult, {
    description:
      'Saves a new version (number = last + 1) and puts it in force. Refused (BAD_USER_INPUT, field source) when it does not ' +
      "compile or fails one of the mapping's fixtures, unless force with a reason.",
  })
  async saveMapping(
    @Arg('name') name: string,
    @Arg('source') source: string,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Arg('force', () => Boolean, { defaultValue: false, description: 'Save even though fixtures fail (needs a reason).' }) force: boolean,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() ctx: GraphContext,
  ): Promise<MappingSaveResult> {
    const store = storeOf(ctx);
    const saved = await store.save(name, source, comment, actorOf(ctx), { force, reason });
    return Object.assign(new MappingSaveResult(), {
      mapping: MappingInfo.from(await store.get(name)),
      version: saved.version,
      fixturesRun: saved.fixturesRun,
      failingFixtures: saved.failingFixtures.map((f) => Object.assign(new MappingFixtureFailure(), f)),
    });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => MappingInfo, {
    description:
      'Puts an earlier version in force: the given one (0 = the file), or without a version the one before the active one ' +
      '(rolling back past the first saved version returns to the file).',
  })
  async rollbackMapping(
    @Arg('name') name: string,
    @Arg('version', () => Int, { nullable: true }) version: number | null,
    @Ctx() ctx: GraphContext,
  ): Promise<MappingInfo> {
    const store = storeOf(ctx);
    await store.rollback(name, actorOf(ctx), version);
    return MappingInfo.from(await store.get(name));
  }
}
