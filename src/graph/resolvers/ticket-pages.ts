import { TicketStatus } from '../../tickets/ticket-enums';
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
): Promise<TicketConnection> {
  const size = checkPageSize(first);
  const afterId = decodeCursor(after);
  const statuses = status && status.length ? [...status].sort() : null;
  const rows = await ctx.loaders.ticketPage.load({ parent, parentId, first: size, afterId, statuses });
  return Object.assign(new TicketConnection(), {
    ...toPage(rows, size, afterId !== null),
    count: () => ctx.loaders.ticketCount.load({ parent, parentId, statuses }),
  });
}
