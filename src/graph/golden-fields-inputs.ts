import { Field, ID, InputType, registerEnumType } from 'type-graphql';

/** Golden customer fields an admin may set by hand (the merge's survivorship fields). */
export enum CustomerGoldenField {
  NAME = 'name',
  TIER = 'tier',
  REGION = 'region',
}
registerEnumType(CustomerGoldenField, { name: 'CustomerGoldenField', description: 'A golden customer field that survivorship decides.' });

/** Golden device fields an admin may set by hand (the merge's survivorship fields). */
export enum DeviceGoldenField {
  MODEL = 'model',
  FIRMWARE = 'firmware',
  PURCHASE_DATE = 'purchaseDate',
  WARRANTY_END = 'warrantyEnd',
  OWNER = 'owner',
}
registerEnumType(DeviceGoldenField, { name: 'DeviceGoldenField', description: 'A golden device field that survivorship decides.' });

@InputType({ description: 'Customer fields set by hand; omitted fields stay as they are, null clears (not name).' })
export class CustomerFieldsInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'e.g. VIP, GOLD.' }) tier?: string | null;
  @Field(() => String, { nullable: true }) region?: string | null;
}

@InputType({ description: 'Device fields set by hand; omitted fields stay as they are, null clears. The owner is given by ownerPhone or ownerId, not both.' })
export class DeviceFieldsInput {
  @Field(() => String, { nullable: true }) model?: string | null;
  @Field(() => String, { nullable: true }) firmware?: string | null;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD.' }) purchaseDate?: string | null;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD.' }) warrantyEnd?: string | null;
  @Field(() => String, { nullable: true, description: "The owner's phone in any written form (normalized to E.164); an existing customer." })
  ownerPhone?: string | null;
  @Field(() => ID, { nullable: true, description: "The owner's customer id." }) ownerId?: string | null;
}
