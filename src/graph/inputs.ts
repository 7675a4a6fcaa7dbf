import { Field, ID, InputType } from 'type-graphql';
import { TicketPriority, TicketStatus } from '../tickets/ticket-enums';

@InputType({ description: 'Three-level category; a level needs the one above it.' })
export class CategoryInput {
  @Field(() => String, { nullable: true }) level1?: string | null;
  @Field(() => String, { nullable: true }) level2?: string | null;
  @Field(() => String, { nullable: true }) level3?: string | null;
}

@InputType({ description: 'A new ticket. Give the customer (customerId or phone) and/or the device serial.' })
export class CreateTicketInput {
  @Field(() => ID, { nullable: true }) customerId?: string | null;
  @Field(() => String, { nullable: true, description: 'Any written form; normalized to E.164.' }) phone?: string | null;
  @Field(() => String, { nullable: true, description: 'Device serial; its owner becomes the customer when none is given.' })
  serial?: string | null;
  @Field(() => String, { nullable: true, description: 'Model from the nameplate. An unknown one fails with UNKNOWN_MODEL and suggestions; with a serial, keeps serial suggestions within its family.' })
  model?: string | null;
  @Field(() => String, { nullable: true, description: 'Open the ticket although the serial or model is unknown (after UNKNOWN_SERIAL / UNKNOWN_MODEL); the reason is audited.' })
  insistReason?: string | null;
  @Field() fault!: string;
  @Field(() => CategoryInput, { nullable: true }) category?: CategoryInput | null;
  @Field(() => TicketPriority, { nullable: true, description: 'Defaults to P2.' }) priority?: TicketPriority | null;
  @Field(() => Date, { nullable: true }) eta?: Date | null;
  @Field(() => String, { nullable: true, description: 'Written into the CREATED history entry.' }) note?: string | null;
}

@InputType({ description: 'Fields to change; omitted fields stay as they are, null clears.' })
export class UpdateTicketInput {
  @Field(() => String, { nullable: true }) fault?: string | null;
  @Field(() => String, { nullable: true }) solution?: string | null;
  @Field(() => String, { nullable: true }) blockingReason?: string | null;
  @Field(() => Date, { nullable: true }) eta?: Date | null;
  @Field(() => TicketPriority, { nullable: true }) priority?: TicketPriority | null;
  @Field(() => CategoryInput, { nullable: true }) category?: CategoryInput | null;
}

@InputType()
export class CustomerFilter {
  @Field(() => String, { nullable: true }) tier?: string | null;
  @Field(() => String, { nullable: true }) region?: string | null;
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name.' }) nameContains?: string | null;
}

@InputType()
export class TicketFilter {
  @Field(() => [TicketStatus], { nullable: true }) status?: TicketStatus[] | null;
  @Field(() => [TicketPriority], { nullable: true }) priority?: TicketPriority[] | null;
  @Field(() => ID, { nullable: true }) customerId?: string | null;
  @Field(() => String, { nullable: true }) deviceSerial?: string | null;
  @Field(() => Date, { nullable: true }) createdAfter?: Date | null;
  @Field(() => Date, { nullable: true }) createdBefore?: Date | null;
}

