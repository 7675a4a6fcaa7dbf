import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, ID, Info, Int, Query, Resolver, Root } from 'type-graphql';
import { requestedFields } from '../selection';
import { Role } from '../../auth/roles';
import { sqlRows } from '../../db/sql';
import { badInput } from '../../errors/codes';
import { normalizePhone } from '../../identity/normalize';
import { pgDate } from '../types/scalars';
import { TicketStatus } from '../../tickets/ticket-enums';
import type { GraphContext } from '../context';
import { CustomerFilter } from '../inputs';
import { checkPageSize, decodeCursor, toPage } from '../types/connection';
import { CustomerConnection, TicketConnection } from '../types/connections';
import { Customer, CustomerStats } from '../types/customer';
import { Device, Purchase } from '../types/device';
import { FieldLineage, lineageList, SourceLinkNode } from '../types/lineage';
import { ticketConnectionFor } from './ticket-pages';

@Resolver(() => Customer)
export class CustomerResolver {
  @Authorized(Role.PORTAL)
  @Query(() => Customer, { nullable: true, description: 'One customer by id or by phone (any written form). Null when none matches.' })
  async customer(
    @Ctx() ctx: GraphContext,
    @Arg('id', () => ID, { nullable: true }) id?: string,
    @Arg('phone', () => String, { nullable: true }) phone?: string,
  ): Promise<Customer | null> {
    if ((id == null) === (phone == null)) throw badInput('Give exactly one of id or phone', id == null ? 'id' : 'phone');
    if (id != null) {
      if (!/^\d{1,19}$/.test(id)) throw badInput(`"${id}" is not a customer id`, 'id');
      return ctx.loaders.customerById.load(id);
    }
    const e164 = normalizePhone(phone!);
    if (!e164) throw badInput(`"${phone}" is not a valid phone number`, 'phone');
    return ctx.loaders.customerByPhone.load(e164);
  }

  @Authorized(Role.PORTAL)
  @Query(() => CustomerConnection, { description: 'Customers in id order, filtered, as a Relay connection.' })
  async customers(
    @Ctx() ctx: GraphContext,
    @Arg('filter', () => CustomerFilter, { nullable: true }) filter?: CustomerFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<CustomerConnection> {
    const size = checkPageSize(first);
    const afterId = decodeCursor(after);
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter?.tier) { where.push('tier = ?'); params.push(filter.tier); }
    if (filter?.region) { where.push('region = ?'); params.push(filter.region); }
    if (filter?.nameContains) { where.push(`name ilike ? escape '\\'`); params.push(`%${filter.nameContains.replace(/[\\%_]/g, '\\$&')}%`); }
    const filterSql = where.length ? where.join(' and ') : 'true';
    const rows = await sqlRows(ctx.orm,
      `select * from customer where ${filterSql} ${afterId ? 'and id > ?' : ''} order by id limit ?`,
      [...params, ...(afterId ? [afterId] : []), size + 1]);
    const page = toPage(rows.map(Customer.fromRow), size, afterId !== null);
    return Object.assign(new CustomerConnection(), {
      ...page,
      count: async () => Number((await sqlRows<any>(ctx.orm, `select count(*)::int as n from customer where ${filterSql}`, params))[0].n),
    });
  }

  @FieldResolver(() => [Device], { description: 'Devices this customer owns.' })
  devices(@Root() c: Customer, @Ctx() ctx: GraphContext, @Info() info: GraphQLResolveInfo): Promise<Device[]> {
    const asked = requestedFields(info);
    return ctx.loaders.devicesByOwner.load({ ownerId: c.id, purchases: asked.has('purchases'), parts: asked.has('compatibleSpareParts') });
  }

  @FieldResolver(() => [Purchase], { description: 'ERP order lines of this customer, newest first.' })
  purchases(@Root() c: Customer, @Ctx() ctx: GraphContext): Promise<Purchase[]> {
    return ctx.loaders.purchasesByCustomer.load(c.id);
  }

  @FieldResolver(() => TicketConnection, { description: "The customer's tickets, newest first." })
  tickets(
    @Root() c: Customer,
    @Ctx() ctx: GraphContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('status', () => [TicketStatus], { nullable: true }) status?: TicketStatus[],
    @Info() info?: GraphQLResolveInfo,
  ): Promise<TicketConnection> {
    return ticketConnectionFor(ctx, 'customer', c.id, first, after, status, info);
  }

  @FieldResolver(() => CustomerStats)
  stats(@Root() c: Customer, @Ctx() ctx: GraphContext): Promise<CustomerStats> {
    return ctx.loaders.statsByCustomer.load(c.id);
  }

  @FieldResolver(() => [FieldLineage], { description: 'Per field: which source gave the current value, and when.' })
  lineage(@Root() c: Customer): FieldLineage[] {
    return lineageList(c.lineageMap);
  }

  @FieldResolver(() => [SourceLinkNode])
  async sourceLinks(@Root() c: Customer, @Ctx() ctx: GraphContext): Promise<SourceLinkNode[]> {
    return toLinks(await ctx.loaders.sourceLinks.load(`customer:${c.id}`));
  }
}

export function toLinks(rows: any[]): SourceLinkNode[] {
  return rows.map((r) => Object.assign(new SourceLinkNode(), {
    system: r.system, stream: r.stream, externalId: r.external_id, version: r.version, seenAt: pgDate(r.seen_at),
  }));
}
