import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from './connection';

export enum WebhookEventStatus {
  PROCESSED = 'PROCESSED',
  PARTIAL = 'PARTIAL',
  FAILED = 'FAILED',
}

registerEnumType(WebhookEventStatus, {
  name: 'WebhookEventStatus',
  valuesConfig: {
    PROCESSED: { description: 'Every record it carried was merged (or unchanged).' },
    PARTIAL: { description: 'Some records failed mapping, validation or merge (see recordErrors).' },
    FAILED: { description: 'Nothing merged: malformed body, wrong shape, or every record refused (see error).' },
  },
});

@ObjectType({ description: 'A source record a push carried.' })
export class WebhookRecordRef {
  @Field() stream!: string;
  @Field() externalId!: string;
}

@ObjectType({ description: 'A record of a push that could not be merged, and why.' })
export class WebhookRecordError {
  @Field(() => String, { nullable: true }) stream!: string | null;
  @Field() externalId!: string;
  @Field() code!: string;
  @Field() message!: string;
}

@ObjectType({ description: 'One push a connector instance delivered to POST /webhooks/<connector> and Junction accepted (sender verified).' })
export class WebhookEvent {
  @Field(() => ID) id!: string;
  @Field({ description: 'Connector instance name from the config file (e.g. crm).' }) connector!: string;
  @Field({ description: 'salesforce.outbound-message, salesforce.json, thingsboard.telemetry, thingsboard.attributes' }) kind!: string;
  @Field() receivedAt!: Date;
  @Field(() => Date, { nullable: true }) processedAt!: Date | null;
  @Field(() => WebhookEventStatus) status!: WebhookEventStatus;
  @Field(() => [WebhookRecordRef]) records!: WebhookRecordRef[];
  @Field(() => Int) merged!: number;
  @Field(() => Int) unchanged!: number;
  @Field(() => Int) failed!: number;
  @Field(() => Int, { description: 'Times the sender delivered it; repeats are acknowledged without processing.' }) deliveries!: number;
  @Field(() => String, { nullable: true, description: 'Stable code of what went wrong (WEBHOOK_MALFORMED, WEBHOOK_BAD_PAYLOAD…).' }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
  @Field(() => [WebhookRecordError]) recordErrors!: WebhookRecordError[];
  @Field(() => String, { nullable: true }) contentType!: string | null;
  @Field({ description: 'The body exactly as received (XML or JSON text).' }) payload!: string;
}

@ObjectType()
export class WebhookEventEdge {
  @Field() cursor!: string;
  @Field(() => WebhookEvent) node!: WebhookEvent;
}

@ObjectType()
export class WebhookEventConnection {
  @Field(() => [WebhookEventEdge]) edges!: WebhookEventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
