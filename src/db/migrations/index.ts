import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123000000Init } from './Migration20261123000000Init';
import { Migration20261123010000Sync } from './Migration20261123010000Sync';
import { Migration20261123020000Similarity } from './Migration20261123020000Similarity';
import { Migration20261123030000Excel } from './Migration20261123030000Excel';
import { Migration20261123040000Outbox } from './Migration20261123040000Outbox';
import { Migration20261123050000Webhooks } from './Migration20261123050000Webhooks';
import { Migration20261123060000Enrichment } from './Migration20261123060000Enrichment';
import { Migration20261123070000Quality } from './Migration20261123070000Quality';
import { Migration20261123080000ExcelPush } from './Migration20261123080000ExcelPush';
import { Migration20261123090000WritebackIds } from './Migration20261123090000WritebackIds';
import { Migration20261123100000VariantCost } from './Migration20261123100000VariantCost';
import { Migration20261205121000BulkCost } from './Migration20261205121000BulkCost';
import { Migration20261205123000ExcelRowKey } from './Migration20261205123000ExcelRowKey';
import { Migration20261205160000CompactLineage } from './Migration20261205160000CompactLineage';
import { Migration20261206060000RawPayload } from './Migration20261206060000RawPayload';
import { Migration20261206080000DeviceNameIndex } from './Migration20261206080000DeviceNameIndex';
import { Migration20261206100000WebhookSessionId } from './Migration20261206100000WebhookSessionId';
import { Migration20261207090000SourceUpdatedAt } from './Migration20261207090000SourceUpdatedAt';

/** Every committed migration, in order. Add new ones at the end. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261123000000Init', class: Migration20261123000000Init },
  { name: 'Migration20261123010000Sync', class: Migration20261123010000Sync },
  { name: 'Migration20261123020000Similarity', class: Migration20261123020000Similarity },
  { name: 'Migration20261123030000Excel', class: Migration20261123030000Excel },
  { name: 'Migration20261123040000Outbox', class: Migration20261123040000Outbox },
  { name: 'Migration20261123050000Webhooks', class: Migration20261123050000Webhooks },
  { name: 'Migration20261123060000Enrichment', class: Migration20261123060000Enrichment },
  { name: 'Migration20261123070000Quality', class: Migration20261123070000Quality },
  { name: 'Migration20261123080000ExcelPush', class: Migration20261123080000ExcelPush },
  { name: 'Migration20261123090000WritebackIds', class: Migration20261123090000WritebackIds },
  { name: 'Migration20261123100000VariantCost', class: Migration20261123100000VariantCost },
  { name: 'Migration20261205121000BulkCost', class: Migration20261205121000BulkCost },
  { name: 'Migration20261205123000ExcelRowKey', class: Migration20261205123000ExcelRowKey },
  { name: 'Migration20261205160000CompactLineage', class: Migration20261205160000CompactLineage },
  { name: 'Migration20261206060000RawPayload', class: Migration20261206060000RawPayload },
  { name: 'Migration20261206080000DeviceNameIndex', class: Migration20261206080000DeviceNameIndex },
  { name: 'Migration20261206100000WebhookSessionId', class: Migration20261206100000WebhookSessionId },
  { name: 'Migration20261207090000SourceUpdatedAt', class: Migration20261207090000SourceUpdatedAt },
];
