import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { Customer } from './customer';
import { Device } from './device';
import { Ticket } from './ticket';

export enum MatchedBy {
  PHONE = 'PHONE',
  SERIAL = 'SERIAL',
  TICKET_NUMBER = 'TICKET_NUMBER',
  NONE = 'NONE',
}
registerEnumType(MatchedBy, { name: 'MatchedBy' });

@ObjectType({ description: 'What one identifier (phone, serial or ticket number) resolved to.' })
export class LookupResult {
  @Field(() => MatchedBy) matchedBy!: MatchedBy;
  @Field({ description: 'The identifier as given.' }) identifier!: string;
  @Field(() => String, { nullable: true, description: 'The normalized form that matched (E.164, serial, ticket number).' })
  normalized!: string | null;
  @Field(() => Customer, { nullable: true }) customer!: Customer | null;
  @Field(() => Device, { nullable: true, description: 'Set when matched by serial or by a ticket with a device.' })
  device!: Device | null;
  @Field(() => Ticket, { nullable: true }) ticket!: Ticket | null;
  @Field(() => String, { nullable: true, description: 'Why nothing matched (only with matchedBy NONE).' })
  reason!: string | null;
}
