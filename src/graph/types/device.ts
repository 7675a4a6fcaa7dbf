import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { LineageMap } from '../../db/entities/base';
import { sourceCalendarDay } from '../../mapping/functions';
import { LocalDate, pgDate } from './scalars';
import { decodeLineage } from '../../db/lineage';

export enum WarrantyStatus {
  IN_WARRANTY = 'IN_WARRANTY',
  OUT_OF_WARRANTY = 'OUT_OF_WARRANTY',
  UNKNOWN = 'UNKNOWN',
}
registerEnumType(WarrantyStatus, { name: 'WarrantyStatus' });

@ObjectType({ description: 'Golden device record (ERP serial, IoT device, tickets).' })
export class Device {
  @Field(() => ID) id!: string;
  @Field({ description: 'Normalized serial: trimmed, upper-case, half-width, no spaces.' }) serial!: string;
  @Field(() => String, { nullable: true }) model!: string | null;
  @Field(() => String, { nullable: true }) firmware!: string | null;
  @Field(() => LocalDate, { nullable: true }) purchaseDate!: string | null;
  @Field(() => LocalDate, { nullable: true }) warrantyEnd!: string | null;
  @Field(() => WarrantyStatus) warrantyStatus!: WarrantyStatus;
  @Field(() => Int, { nullable: true, description: 'Days until warranty end (negative once expired).' })
  warrantyDaysLeft!: number | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  ownerId!: string | null;
  lineageMap!: LineageMap;

  static fromRow(r: any, today = new Date()): Device {
    const warrantyEnd: string | null = r.warranty_end ?? null;
    let warrantyStatus = WarrantyStatus.UNKNOWN;
    let warrantyDaysLeft: number | null = null;
    if (warrantyEnd) {
      // Days on the sources' calendar (China time), as ticket enrichment counts them.
      const todayThere = Date.parse(`${sourceCalendarDay(today)}T00:00:00Z`);
      warrantyDaysLeft = Math.round((Date.parse(`${warrantyEnd}T00:00:00Z`) - todayThere) / 86400000);
      warrantyStatus = warrantyDaysLeft >= 0 ? WarrantyStatus.IN_WARRANTY : WarrantyStatus.OUT_OF_WARRANTY;
    }
    return Object.assign(new Device(), {
      id: String(r.id), serial: r.serial, model: r.model, firmware: r.firmware,
      purchaseDate: r.purchase_date ?? null, warrantyEnd, warrantyStatus, warrantyDaysLeft,
      createdAt: pgDate(r.created_at), updatedAt: pgDate(r.updated_at),
      ownerId: r.owner_id == null ? null : String(r.owner_id), lineageMap: decodeLineage(r.lineage),
    });
  }
}

@ObjectType({ description: 'Latest IoT state of a device.' })
export class Telemetry {
  @Field(() => Boolean, { nullable: true }) online!: boolean | null;
  @Field(() => Date, { nullable: true }) lastSeenAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Run counter; a string because it can exceed 2^53.' })
  runCount!: string | null;
  @Field(() => [String], { description: 'Active alert or fault codes.' }) alerts!: string[];
  @Field() updatedAt!: Date;

  static fromRow(r: any): Telemetry {
    return Object.assign(new Telemetry(), {
      online: r.online, lastSeenAt: pgDate(r.last_seen_at), runCount: r.run_count == null ? null : String(r.run_count),
      alerts: Array.isArray(r.alerts) ? r.alerts.map(String) : [], updatedAt: pgDate(r.updated_at),
    });
  }
}

@ObjectType({ description: 'An ERP sales-order line.' })
export class Purchase {
  @Field(() => ID) id!: string;
  @Field() orderNumber!: string;
  @Field(() => Int) lineNo!: number;
  @Field(() => String, { nullable: true }) model!: string | null;
  @Field(() => Int) quantity!: number;
  @Field(() => String, { nullable: true, description: 'Decimal amount as text, e.g. "4999.00".' }) amount!: string | null;
  @Field() currency!: string;
  @Field(() => LocalDate, { nullable: true }) orderedAt!: string | null;
  customerId!: string | null;
  deviceId!: string | null;

  static fromRow(r: any): Purchase {
    return Object.assign(new Purchase(), {
      id: String(r.id), orderNumber: r.order_number, lineNo: r.line_no, model: r.model, quantity: r.quantity,
      amount: r.amount == null ? null : String(r.amount), currency: r.currency, orderedAt: r.ordered_at ?? null,
      customerId: r.customer_id == null ? null : String(r.customer_id), deviceId: r.device_id == null ? null : String(r.device_id),
    });
  }
}

@ObjectType()
export class StockLevel {
  @Field() warehouse!: string;
  @Field(() => Int) quantity!: number;
  @Field() updatedAt!: Date;
}

@ObjectType({ description: 'A spare part (ERP material).' })
export class SparePart {
  @Field(() => ID) id!: string;
  @Field() code!: string;
  @Field() name!: string;

  static fromRow(r: any): SparePart {
    return Object.assign(new SparePart(), { id: String(r.id), code: r.code, name: r.name });
  }
}
