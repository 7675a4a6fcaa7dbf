import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { TicketEventType, TicketPriority, TicketStatus } from '../../tickets/ticket-enums';
import { TicketEnrichment } from './enrichment';
import { JSONObject, pgDate } from './scalars';

registerEnumType(TicketStatus, { name: 'TicketStatus' });
registerEnumType(TicketPriority, { name: 'TicketPriority', description: 'P0 = outage or safety, P3 = routine.' });
registerEnumType(TicketEventType, { name: 'TicketEventType' });

@ObjectType({ description: 'Three-level fault category, e.g. 空调 / 制冷异常 / 压缩机不启动.' })
export class TicketCategory {
  @Field(() => String, { nullable: true }) level1!: string | null;
  @Field(() => String, { nullable: true }) level2!: string | null;
  @Field(() => String, { nullable: true }) level3!: string | null;
}

@ObjectType({ description: 'A service ticket (工单).' })
export class Ticket {
  @Field(() => ID) id!: string;
  @Field({ description: 'Human-readable number, e.g. T20260218-8892.' }) number!: string;
  @Field(() => TicketStatus) status!: TicketStatus;
  @Field(() => TicketPriority) priority!: TicketPriority;
  @Field(() => TicketCategory) category!: TicketCategory;
  @Field() fault!: string;
  @Field(() => String, { nullable: true }) solution!: string | null;
  @Field(() => String, { nullable: true }) blockingReason!: string | null;
  @Field(() => Date, { nullable: true }) eta!: Date | null;
  @Field(() => Date, { nullable: true }) slaResponseDue!: Date | null;
  @Field(() => Date, { nullable: true }) slaResolveDue!: Date | null;
  @Field(() => Date, { nullable: true }) resolvedAt!: Date | null;
  @Field(() => Date, { nullable: true }) closedAt!: Date | null;
  @Field(() => JSONObject, { description: 'Fields derived by mapping (device age, warranty state, tier...), untyped; see enrichment.' })
  derived!: Record<string, unknown>;
  @Field(() => String, { nullable: true, description: 'The device\'s model, or the model reported when there is no device record.' })
  model!: string | null;
  @Field(() => String, { nullable: true, description: 'A serial no device has, kept because the caller insisted (audited).' })
  reportedSerial!: string | null;
  @Field(() => TicketEnrichment, { nullable: true, description: 'Derived values with their lineage; null if never enriched.' })
  enrichment!: TicketEnrichment | null;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => Int, { description: 'Optimistic-concurrency version; pass it back as expectedVersion.' }) version!: number;
  customerId!: string;
  deviceId!: string | null;

  static fromRow(r: any): Ticket {
    return Object.assign(new Ticket(), {
      id: String(r.id), number: r.number, status: r.status, priority: r.priority,
      category: Object.assign(new TicketCategory(), { level1: r.category_l1, level2: r.category_l2, level3: r.category_l3 }),
      fault: r.fault, solution: r.solution, blockingReason: r.blocking_reason, eta: pgDate(r.eta),
      slaResponseDue: pgDate(r.sla_response_due), slaResolveDue: pgDate(r.sla_resolve_due), resolvedAt: pgDate(r.resolved_at), closedAt: pgDate(r.closed_at),
      derived: r.derived ?? {}, model: r.model ?? null, reportedSerial: r.reported_serial ?? null,
      enrichment: TicketEnrichment.from(r.derived, r.derived_lineage, r.enriched_at), createdBy: r.created_by, createdAt: pgDate(r.created_at), updatedAt: pgDate(r.updated_at), version: r.version,
      customerId: String(r.customer_id), deviceId: r.device_id == null ? null : String(r.device_id),
    });
  }
}

@ObjectType({ description: 'One step of a ticket history.' })
export class TicketEvent {
  @Field(() => ID) id!: string;
  @Field(() => TicketEventType) type!: TicketEventType;
  @Field(() => TicketStatus, { nullable: true }) fromStatus!: TicketStatus | null;
  @Field(() => TicketStatus, { nullable: true }) toStatus!: TicketStatus | null;
  @Field(() => JSONObject, { description: 'field -> { before, after }' }) changes!: Record<string, unknown>;
  @Field(() => String, { nullable: true }) note!: string | null;
  @Field() actor!: string;
  @Field() origin!: string;
  @Field() at!: Date;

  static fromRow(r: any): TicketEvent {
    return Object.assign(new TicketEvent(), {
      id: String(r.id), type: r.type, fromStatus: r.from_status, toStatus: r.to_status, changes: r.changes ?? {},
      note: r.note, actor: r.actor, origin: r.origin, at: pgDate(r.at),
    });
  }
}
