import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../../auth/roles';
import { sqlRows } from '../../db/sql';
import { badInput } from '../../errors/codes';
import { normalizeSerial, normalizeTicketNumber } from '../../identity/normalize';
import { TicketStatus } from '../../tickets/ticket-enums';
import { actorOf, GraphContext } from '../context';
import { idArray, textArray } from '../loaders';
import { CreateTicketInput, TicketFilter, UpdateTicketInput } from '../inputs';
import { checkPageSize, decodeCursor, toPage } from '../types/connection';
import { TicketConnection } from '../types/connections';
import { Customer } from '../types/customer';
import { Device } from '../types/device';
import { Ticket, TicketEvent } from '../types/ticket';

async function loadFresh(ctx: GraphContext, id: string): Promise<Ticket> {
  ctx.loaders.ticketById.clear(id);
  return (await ctx.loaders.ticketById.load(id))!;
}

@Resolver(() => Ticket)
export class TicketResolver {
  @Authorized(Role.PORTAL)
  @Query(() => Ticket, { nullable: true, description: 'One ticket by number (e.g. T20260218-8892). Null when none matches.' })
  async ticket(@Arg('number') number: string, @Ctx() ctx: GraphContext): Promise<Ticket | null> {
    const normalized = normalizeTicketNumber(number);
    if (!normalized) throw badInput(`"${number}" is not a ticket number (expected like T20260218-8892)`, 'number');
    return ctx.loaders.ticketByNumber.load(normalized);
  }

  @Authorized(Role.PORTAL)
  @Query(() => TicketConnection, { description: 'Tickets newest first, filtered, as a Relay connection.' })
  async tickets(
    @Ctx() ctx: GraphContext,
    @Arg('filter', () => TicketFilter, { nullable: true }) filter?: TicketFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<TicketConnection> {
    const size = checkPageSize(first);
    const afterId = decodeCursor(after);
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter?.status?.length) { where.push('status = any(?::text[])'); params.push(textArray(filter.status)); }
    if (filter?.priority?.length) { where.push('priority = any(?::text[])'); params.push(textArray(filter.priority)); }
    if (filter?.customerId) {
      where.push('customer_id = any(?::bigint[])');
      if (!/^\d{1,19}$/.test(filter.customerId)) throw badInput(`"${filter.customerId}" is not a customer id`, 'filter.customerId');
      params.push(idArray([filter.customerId]));
    }
    if (filter?.deviceSerial) {
      const serial = normalizeSerial(filter.deviceSerial);
      if (!serial) throw badInput('deviceSerial must not be empty', 'filter.deviceSerial');
      where.push('device_id = (select id from device where serial = ?)');
      params.push(serial);
    }
    if (filter?.createdAfter) { where.push('created_at >= ?'); params.push(filter.createdAfter); }
    if (filter?.createdBefore) { where.push('created_at < ?'); params.push(filter.createdBefore); }
    const filterSql = where.length ? where.join(' and ') : 'true';
    const rows = await sqlRows(ctx.orm,
      `select * from ticket where ${filterSql} ${afterId ? 'and id < ?' : ''} order by id desc limit ?`,
      [...params, ...(afterId ? [afterId] : []), size + 1]);
    return Object.assign(new TicketConnection(), {
      ...toPage(rows.map(Ticket.fromRow), size, afterId !== null),
      count: async () => Number((await sqlRows<any>(ctx.orm, `select count(*)::int as n from ticket where ${filterSql}`, params))[0].n),
    });
  }

  @FieldResolver(() => Customer)
  async customer(@Root() t: Ticket, @Ctx() ctx: GraphContext): Promise<Customer> {
    return (await ctx.loaders.customerById.load(t.customerId))!;
  }

  @FieldResolver(() => Device, { nullable: true })
  device(@Root() t: Ticket, @Ctx() ctx: GraphContext): Promise<Device | null> | null {
    return t.deviceId ? ctx.loaders.deviceById.load(t.deviceId) : null;
  }

  @FieldResolver(() => [TicketEvent], { description: 'Every change, oldest first.' })
  history(@Root() t: Ticket, @Ctx() ctx: GraphContext): Promise<TicketEvent[]> {
    return ctx.loaders.historyByTicket.load(t.id);
  }

  @Authorized(Role.PORTAL)
  @Mutation(() => Ticket, { description: 'Open a ticket. Written with its history entry and audit in one transaction.' })
  async createTicket(@Arg('input', () => CreateTicketInput) input: CreateTicketInput, @Ctx() ctx: GraphContext): Promise<Ticket> {
    const { id } = await ctx.tickets.create(input, actorOf(ctx));
    return loadFresh(ctx, id);
  }

  @Authorized(Role.PORTAL)
  @Mutation(() => Ticket, { description: 'Change ticket fields. Pass expectedVersion to fail with CONFLICT if someone changed it first.' })
  async updateTicket(
    @Arg('number') number: string,
    @Arg('input', () => UpdateTicketInput) input: UpdateTicketInput,
    @Ctx() ctx: GraphContext,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion?: number,
  ): Promise<Ticket> {
    return loadFresh(ctx, await ctx.tickets.update(number, input, actorOf(ctx), expectedVersion));
  }

  @Authorized(Role.PORTAL)
  @Mutation(() => Ticket, { description: 'Move a ticket to another status; illegal moves fail with INVALID_TRANSITION.' })
  async changeTicketStatus(
    @Arg('number') number: string,
    @Arg('status', () => TicketStatus) status: TicketStatus,
    @Ctx() ctx: GraphContext,
    @Arg('note', () => String, { nullable: true }) note?: string,
    @Arg('solution', () => String, { nullable: true, description: 'Required (here or before) to resolve.' }) solution?: string,
    @Arg('blockingReason', () => String, { nullable: true, description: 'Required to move to PENDING.' }) blockingReason?: string,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion?: number,
  ): Promise<Ticket> {
    const id = await ctx.tickets.changeStatus(number, { status, note, solution, blockingReason }, actorOf(ctx), expectedVersion);
    return loadFresh(ctx, id);
  }
}

