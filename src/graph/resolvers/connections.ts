import { FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { CustomerConnection, TicketConnection } from '../types/connections';

/** totalCount runs its count query only when a client asks for it. */
@Resolver(() => CustomerConnection)
export class CustomerConnectionResolver {
  @FieldResolver(() => Int)
  totalCount(@Root() c: CustomerConnection): Promise<number> {
    return c.count();
  }
}

@Resolver(() => TicketConnection)
export class TicketConnectionResolver {
  @FieldResolver(() => Int)
  totalCount(@Root() c: TicketConnection): Promise<number> {
    return c.count();
  }
}
