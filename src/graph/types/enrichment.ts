import { Field, Float, Int, ObjectType } from 'type-graphql';
import { WarrantyStatus } from './device';
import { LocalDate, pgDate } from './scalars';

@ObjectType({ description: 'Service validity from the ERP warranty end, on the day of enrichment.' })
export class WarrantyState {
  @Field(() => WarrantyStatus) status!: WarrantyStatus;
  @Field(() => LocalDate, { nullable: true }) end!: string | null;
  @Field(() => Int, { nullable: true, description: 'Days until the warranty ends (0 = last day); negative = days since it ended.' })
  daysLeft!: number | null;
}

@ObjectType({ description: 'An open CRM complaint of the ticket\'s customer or device.' })
export class OpenComplaint {
  @Field() caseNumber!: string;
  @Field(() => String, { nullable: true }) subject!: string | null;
  @Field(() => Date, { nullable: true }) openedAt!: Date | null;
}

@ObjectType({ description: 'What IoT readings suggest checking, from the thresholds per model family (mappings/ticket/iot-thresholds.json).' })
export class IotHint {
  @Field({ description: 'Stable code, e.g. INSPECT_TRACTION_SHEAVE.' }) code!: string;
  @Field() message!: string;
  @Field({ description: 'The IoT metric compared, e.g. runCount.' }) metric!: string;
  @Field(() => Float) threshold!: number;
}

@ObjectType()
export class PartStock {
  @Field() warehouse!: string;
  @Field(() => Int) quantity!: number;
}

@ObjectType({ description: 'A spare part that fits the model and firmware, with stock per warehouse at enrichment time.' })
export class SuggestedPart {
  @Field() code!: string;
  @Field() name!: string;
  @Field(() => Int) totalStock!: number;
  @Field(() => [PartStock]) stock!: PartStock[];
}

@ObjectType({ description: 'Where one derived value came from: the golden record and field, its source system and record, and when.' })
export class DerivedLineage {
  @Field({ description: 'The derived value, e.g. warranty.' }) value!: string;
  @Field({ description: 'Golden field read, e.g. device.warrantyEnd.' }) field!: string;
  @Field({ description: 'Golden record, e.g. device:GA72H2025000123.' }) record!: string;
  @Field(() => String, { nullable: true, description: 'Source system (crm, erp, iot, excel).' }) system!: string | null;
  @Field(() => String, { nullable: true }) stream!: string | null;
  @Field(() => String, { nullable: true, description: 'The record\'s id in the source system.' }) externalId!: string | null;
  @Field(() => String, { nullable: true, description: 'When the source gave the value (ISO 8601).' }) at!: string | null;
}

@ObjectType({ description: 'What the systems know about a ticket, derived by mappings/ticket/enrich.jsonata at creation and again when master data changes while it is open.' })
export class TicketEnrichment {
  @Field(() => String, { nullable: true }) model!: string | null;
  @Field(() => Int, { nullable: true, description: 'Whole months since the ERP purchase date.' }) deviceAgeMonths!: number | null;
  @Field(() => WarrantyState) warranty!: WarrantyState;
  @Field(() => String, { nullable: true, description: 'Customer tier from the CRM.' }) customerTier!: string | null;
  @Field(() => Int) openComplaintCount!: number;
  @Field(() => [OpenComplaint]) openComplaints!: OpenComplaint[];
  @Field(() => [IotHint]) iotHints!: IotHint[];
  @Field(() => [SuggestedPart]) suggestedParts!: SuggestedPart[];
  @Field(() => [DerivedLineage]) lineage!: DerivedLineage[];
  @Field(() => Date, { nullable: true }) enrichedAt!: Date | null;

  static from(derived: any, lineage: any, enrichedAt: unknown): TicketEnrichment | null {
    if (!enrichedAt) return null;
    const list = (v: unknown) => (Array.isArray(v) ? v : v ? [v] : []);
    const w = derived?.warranty ?? {};
    const complaints = list(derived?.openComplaints).map((c: any) => Object.assign(new OpenComplaint(), {
      caseNumber: String(c.caseNumber), subject: c.subject ?? null, openedAt: pgDate(c.openedAt ?? null),
    }));
    return Object.assign(new TicketEnrichment(), {
      model: derived?.model ?? null,
      deviceAgeMonths: derived?.deviceAgeMonths ?? null,
      warranty: Object.assign(new WarrantyState(), { status: w.status ?? WarrantyStatus.UNKNOWN, end: w.end ?? null, daysLeft: w.daysLeft ?? null }),
      customerTier: derived?.customerTier ?? null,
      openComplaintCount: complaints.length,
      openComplaints: complaints,
      iotHints: list(derived?.iotHints).map((h: any) => Object.assign(new IotHint(), h)),
      suggestedParts: list(derived?.suggestedParts).map((p: any) => Object.assign(new SuggestedPart(), {
        code: p.code, name: p.name, totalStock: p.totalStock ?? 0, stock: list(p.stock).map((s: any) => Object.assign(new PartStock(), s)),
      })),
      lineage: list(lineage).map((l: any) => Object.assign(new DerivedLineage(), {
        value: l.value, field: l.field, record: l.record, system: l.system ?? null, stream: l.stream ?? null,
        externalId: l.externalId ?? null, at: l.at ?? null,
      })),
      enrichedAt: pgDate(enrichedAt),
    });
  }
}

@ObjectType({ description: 'A known serial close to one typed (one or two characters away).' })
export class SerialSuggestion {
  @Field() serial!: string;
  @Field(() => String, { nullable: true }) model!: string | null;
  @Field(() => Int, { description: 'Edits away; two swapped neighbours count as one.' }) distance!: number;
  @Field({ description: 'EXTRA_CHARACTER, MISSING_CHARACTER, WRONG_CHARACTER, SWAPPED_CHARACTERS or OTHER (what the typed text did).' }) kind!: string;
}

@ObjectType({ description: 'A known model of the same family close to one typed.' })
export class ModelSuggestion {
  @Field() model!: string;
  @Field(() => Int) distance!: number;
  @Field() kind!: string;
}
