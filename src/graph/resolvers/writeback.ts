import DataLoader from 'dataloader';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../../auth/roles';
import { sqlOne, sqlRows } from '../../db/sql';
import { badInput, ErrorCode, JunctionError } from '../../errors/codes';
import { normalizeTicketNumber } from '../../identity/normalize';
import { actorOf, GraphContext } from '../context';
import { idArray } from '../loaders';
import { checkPageSize, decodeCursor, toPage } from '../types/connection';
import { Ticket } from '../types/ticket';
import { WriteBack, WRITEBACK_COLUMNS, WriteBackConnection, WriteBackStatus } from '../types/writeback';

/** Per-request loader of every ticket's write-backs: one statement per wave of tickets (no N+1). */
const loaders = new WeakMap<object, DataLoader<string, WriteBack[]>>();
function writeBacksByTicket(ctx: GraphContext): DataLoader<string, WriteBack[]> {
  let l = loaders.get(ctx.loaders);
  if (!l) {
    l = new DataLoader<string, WriteBack[]>(async (ids) => {
      const rows = await sqlRows<any>(ctx.orm, `select ${WRITEBACK_COLUMNS} from writeback_outbox where ticket_id = any(?::bigint[]) order by ticket_id, id`, [idArray(ids)]);
      const by = new Map<string, WriteBack[]>();
      for (const r of rows) {
        const k = String(r.ticket_id);
        if (!by.has(k)) by.set(k, []);
        by.get(k)!.push(WriteBack.fromRow(r));
      }
      return ids.map((id) => by.get(id) ?? []);
    });
    loaders.set(ctx.loaders, l);
  }
  return l;
}

function admin(ctx: GraphContext) {
  if (!ctx.writeback) throw new JunctionError(ErrorCode.INTERNAL_SERVER_ERROR, 'This gateway has no write-back queue configured');
  return ctx.writeback;
}

async function load(ctx: GraphContext, id: string): Promise<WriteBack> {
  return WriteBack.fromRow(await sqlOne<any>(ctx.orm, `select ${WRITEBACK_COLUMNS} from writeback_outbox where id = ?`, [id]));
}

@Resolver()
export class WriteBackResolver {
  @Authorized(Role.ADMIN)
  @Query(() => WriteBackConnection, { description: 'Write-backs newest first, optionally by status, connector instance, ticket number and origin prefix (admin keys).' })
  async writeBacks(
    @Ctx() ctx: GraphContext,
    @Arg('status', () => [WriteBackStatus], { nullable: true }) status?: WriteBackStatus[],
    @Arg('connector', () => String, { nullable: true }) connector?: string,
    @Arg('ticket', () => String, { nullable: true, description: 'Ticket number, e.g. T20260218-8892.' }) ticket?: string,
    @Arg('origin', () => String, { nullable: true, description: 'Origin prefix, e.g. excel:devices: (every push of that template) or excel:devices:devices.xlsx#.' }) origin?: string,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<WriteBackConnection> {
    const size = checkPageSize(first);
    const afterId = decodeCursor(after);
    const where: string[] = [];
    const params: unknown[] = [];
    if (status?.length) { where.push('status = any(?::text[])'); params.push(`{${status.join(',')}}`); }
    if (connector != null) { where.push('connector = ?'); params.push(connector); }
    if (ticket != null) {
      const number = normalizeTicketNumber(ticket);
      if (!number) throw badInput(`"${ticket}" is not a ticket number (expected like T20260218-8892)`, 'ticket');
      // through the ticket id: the (ticket_id, id) index serves it
      where.push('ticket_id = (select id from ticket where number = ?)');
      params.push(number);
    }
    if (origin != null) {
      // a prefix match the (origin text_pattern_ops, id) index serves; LIKE wildcards in the input are literal
      where.push(`origin like ? escape '\\'`);
      params.push(`${origin.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    const paged = [...where, ...(afterId !== null ? ['id < ?'] : [])];
    const rows = await sqlRows<any>(ctx.orm,
      `select ${WRITEBACK_COLUMNS} from writeback_outbox ${paged.length ? `where ${paged.join(' and ')}` : ''} order by id desc limit ?`,
      [...params, ...(afterId !== null ? [afterId] : []), size + 1]);
    return Object.assign(new WriteBackConnection(), {
      ...toPage(rows.map(WriteBack.fromRow), size, afterId !== null),
      count: async () => Number((await sqlOne<{ n: string }>(ctx.orm, `select count(*) as n from writeback_outbox ${where.length ? `where ${where.join(' and ')}` : ''}`, params))!.n),
    });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => WriteBack, {
    description: 'Run a DEAD, CONFLICT, SKIPPED or DISCARDED write-back again with fresh attempts. force: write even where the target changed since Junction saw it (a person decided Junction wins).',
  })
  async retryWriteBack(
    @Ctx() ctx: GraphContext,
    @Arg('id', () => ID) id: string,
    @Arg('force', () => Boolean, { nullable: true, defaultValue: false }) force?: boolean,
  ): Promise<WriteBack> {
    await admin(ctx).retry(id, actorOf(ctx), force ?? false);
    return load(ctx, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => WriteBack, { description: 'Give up a write-back that has not been applied (it stays listed as DISCARDED).' })
  async discardWriteBack(@Ctx() ctx: GraphContext, @Arg('id', () => ID) id: string): Promise<WriteBack> {
    await admin(ctx).discard(id, actorOf(ctx));
    return load(ctx, id);
  }
}

@Resolver(() => WriteBackConnection)
export class WriteBackConnectionResolver {
  @FieldResolver(() => Int)
  totalCount(@Root() c: WriteBackConnection): Promise<number> {
    return c.count();
  }
}

@Resolver(() => Ticket)
export class TicketWriteBackResolver {
  @FieldResolver(() => [WriteBack], { description: 'Where this ticket\'s changes were written back (CRM, ERP, IoT), oldest first.' })
  writeBacks(@Root() t: Ticket, @Ctx() ctx: GraphContext): Promise<WriteBack[]> {
    return writeBacksByTicket(ctx).load(t.id);
  }
}
