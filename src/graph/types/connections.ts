import { Field, ObjectType } from 'type-graphql';
import { PageInfo } from './connection';
import { Customer } from './customer';
import { Ticket } from './ticket';

@ObjectType()
export class CustomerEdge {
  @Field() cursor!: string;
  @Field(() => Customer) node!: Customer;
}

@ObjectType()
export class CustomerConnection {
  @Field(() => [CustomerEdge]) edges!: CustomerEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  /** Counted only when asked for. */
  count!: () => Promise<number>;
}

@ObjectType()
export class TicketEdge {
  @Field() cursor!: string;
  @Field(() => Ticket) node!: Ticket;
}

@ObjectType()
export class TicketConnection {
  @Field(() => [TicketEdge]) edges!: TicketEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  count!: () => Promise<number>;
}

