import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, Info, Int, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../../auth/roles';
import { badInput } from '../../errors/codes';
import { normalizeSerial } from '../../identity/normalize';
import { TicketStatus } from '../../tickets/ticket-enums';
import type { GraphContext } from '../context';
import { TicketConnection } from '../types/connections';
import { Customer } from '../types/customer';
import { Device, Purchase, SparePart, StockLevel, Telemetry } from '../types/device';
import { FieldLineage, lineageList, SourceLinkNode } from '../types/lineage';
import { toLinks } from './customer';
import { ticketConnectionFor } from './ticket-pages';

@Resolver(() => Device)
export class DeviceResolver {
  @Authorized(Role.PORTAL)
  @Query(() => Device, { nullable: true, description: 'One device by serial (any case or width). Null when none matches.' })
  async device(@Arg('serial') serial: string, @Ctx() ctx: GraphContext): Promise<Device | null> {
    const normalized = normalizeSerial(serial);
    if (!normalized) throw badInput('serial must not be empty', 'serial');
    return ctx.loaders.deviceBySerial.load(normalized);
  }

  @FieldResolver(() => Customer, { nullable: true })
  owner(@Root() d: Device, @Ctx() ctx: GraphContext): Promise<Customer | null> | null {
    return d.ownerId ? ctx.loaders.customerById.load(d.ownerId) : null;
  }

  @FieldResolver(() => Telemetry, { nullable: true, description: 'Latest IoT state; null when the device never reported.' })
  telemetry(@Root() d: Device, @Ctx() ctx: GraphContext): Promise<Telemetry | null> {
    return ctx.loaders.telemetryByDevice.load(d.id);
  }

  @FieldResolver(() => [Purchase])
  purchases(@Root() d: Device, @Ctx() ctx: GraphContext): Promise<Purchase[]> {
    return ctx.loaders.purchasesByDevice.load(d.id);
  }

  @FieldResolver(() => [SparePart], { description: 'Parts that fit this model (and firmware, where the part says so).' })
  compatibleSpareParts(@Root() d: Device, @Ctx() ctx: GraphContext): Promise<SparePart[]> {
    return ctx.loaders.compatiblePartsByDevice.load(d.id);
  }

  @FieldResolver(() => TicketConnection)
  tickets(
    @Root() d: Device,
    @Ctx() ctx: GraphContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('status', () => [TicketStatus], { nullable: true }) status?: TicketStatus[],
    @Info() info?: GraphQLResolveInfo,
  ): Promise<TicketConnection> {
    return ticketConnectionFor(ctx, 'device', d.id, first, after, status, info);
  }

  @FieldResolver(() => [FieldLineage])
  lineage(@Root() d: Device): FieldLineage[] {
    return lineageList(d.lineageMap);
  }

  @FieldResolver(() => [SourceLinkNode])
  async sourceLinks(@Root() d: Device, @Ctx() ctx: GraphContext): Promise<SourceLinkNode[]> {
    return toLinks(await ctx.loaders.sourceLinks.load(`device:${d.id}`));
  }
}

@Resolver(() => SparePart)
export class SparePartResolver {
  @FieldResolver(() => [StockLevel], { description: 'Stock per warehouse (ERP).' })
  stock(@Root() p: SparePart, @Ctx() ctx: GraphContext): Promise<StockLevel[]> {
    return ctx.loaders.stockByPart.load(p.id);
  }

  @FieldResolver(() => Int)
  async totalStock(@Root() p: SparePart, @Ctx() ctx: GraphContext): Promise<number> {
    return (await ctx.loaders.stockByPart.load(p.id)).reduce((sum, s) => sum + s.quantity, 0);
  }
}
