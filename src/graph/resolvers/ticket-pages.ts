import type { GraphQLResolveInfo } from 'graphql';
import { TicketStatus } from '../../tickets/ticket-enums';
import { requestedFields } from '../selection';
import type { GraphContext } from '../context';
import { checkPageSize, decodeCursor, toPage } from '../types/connection';
import { TicketConnection } from '../types/connections';

/** A customer's or device's tickets as a connection, batched across parents by DataLoader. */
export async function ticketConnectionFor(
  ctx: GraphContext,
  parent: 'customer' | 'device',
  parentId: string,
  first: number | undefined,
  after: string | undefined,
  status: TicketStatus[] | undefined,
  info?: GraphQLResolveInfo,
): Promise<TicketConnection> {
  const size = checkPageSize(first);
  const afterId = decodeCursor(after);
  const statuses = status && status.length ? [...status].sort() : null;
  const withHistory = info ? requestedFields(info, ['edges', 'node']).has('history') : false;
  const rows = await ctx.loaders.ticketPage.load({ parent, parentId, first: size, afterId, statuses, withHistory });
  return Object.assign(new TicketConnection(), {
    ...toPage(rows, size, afterId !== null),
    // A customer's unfiltered total is already in its stats (one statement for both).
    count: async () =>
      parent === 'customer' && !statuses
        ? (await ctx.loaders.statsByCustomer.load(parentId)).ticketCount
        : ctx.loaders.ticketCount.load({ parent, parentId, statuses }),
  });
}
