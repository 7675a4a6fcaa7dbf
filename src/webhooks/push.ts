import type { SourceRecord } from '../connectors';
import type { CombinePayload } from '../sync/pipeline';

/** What one delivery carries once parsed: pages of source records per stream, in merge order. */
export interface PushBatch {
  /** e.g. salesforce.outbound-message, thingsboard.telemetry */
  kind: string;
  pages: Array<{ stream: string; records: SourceRecord[] }>;
  /** Ids the sender gives the delivery itself (Salesforce notification ids): the replay guard's key. */
  deliveryIds?: string[];
  /** How a pushed record completes the payload already stored for it (see SyncPipeline.ingestPage). */
  combine?: CombinePayload;
}

/** The parts of an HTTP request a push parser reads. */
export interface PushRequest {
  connector: string;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

/** Sets a record's pages in the connector's stream order (accounts before the cases that refer to them). */
export function inStreamOrder(pages: Map<string, SourceRecord[]>, order: string[]): PushBatch['pages'] {
  return [...pages.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([stream, records]) => ({ stream, records }));
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
