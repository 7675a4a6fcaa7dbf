import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { pgDate } from './scalars';
import type { LineageMap } from '../../db/entities/base';
import { decodeLineage } from '../../db/lineage';

@ObjectType({ description: 'Golden customer record, merged from CRM, ERP, Excel and tickets.' })
export class Customer {
  @Field(() => ID) id!: string;
  @Field({ description: 'E.164, e.g. +8613800138000; an extension stays part of it as ;ext=N (RFC 3966), e.g. +861062345678;ext=8001.' }) phone!: string;
  @Field() name!: string;
  @Field(() => String, { nullable: true, description: 'CRM tier, e.g. VIP, GOLD.' }) tier!: string | null;
  @Field(() => String, { nullable: true }) region!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => Int) version!: number;
  lineageMap!: LineageMap;

  static fromRow(r: any): Customer {
    return Object.assign(new Customer(), {
      id: String(r.id), phone: r.phone, name: r.name, tier: r.tier, region: r.region,
      createdAt: pgDate(r.created_at), updatedAt: pgDate(r.updated_at), version: r.version, lineageMap: decodeLineage(r.lineage),
    });
  }
}

@ObjectType({ description: 'Ticket figures for one customer.' })
export class CustomerStats {
  @Field(() => Int) ticketCount!: number;
  @Field(() => Int, { description: 'NEW, ASSIGNED, IN_PROGRESS or PENDING.' }) openTicketCount!: number;
  @Field(() => Int, { description: 'RESOLVED or CLOSED.' }) resolvedTicketCount!: number;
  @Field(() => Float, { nullable: true, description: 'Resolved / (all but cancelled); null with no tickets.' })
  resolutionRate!: number | null;
}
