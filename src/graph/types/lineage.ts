import { Field, ObjectType } from 'type-graphql';
import type { LineageMap } from '../../db/entities/base';

@ObjectType({ description: 'Which source system gave a field its current value, and when.' })
export class FieldLineage {
  @Field() field!: string;
  @Field({ description: 'crm, erp, iot, excel, manual...' }) system!: string;
  @Field(() => String, { nullable: true }) stream?: string | null;
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field() at!: Date;
  @Field({ description: 'Set by hand; later syncs do not overwrite it.' }) pinned!: boolean;
}

export function lineageList(map: LineageMap | null | undefined): FieldLineage[] {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([field, l]) =>
      Object.assign(new FieldLineage(), {
        field, system: l.system, stream: l.stream ?? null, externalId: l.externalId ?? null, at: new Date(l.at), pinned: !!l.pinned,
      }),
    );
}

@ObjectType({ description: 'A record in a source system that feeds this golden record.' })
export class SourceLinkNode {
  @Field() system!: string;
  @Field() stream!: string;
  @Field() externalId!: string;
  @Field(() => String, { nullable: true }) version?: string | null;
  @Field() seenAt!: Date;
}
