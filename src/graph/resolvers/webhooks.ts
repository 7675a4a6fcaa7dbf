import { Arg, Authorized, Ctx, Int, Query, Resolver } from 'type-graphql';
import { Role } from '../../auth/roles';
import { sqlRows } from '../../db/sql';
import type { GraphContext } from '../context';
import { checkPageSize, decodeCursor, toPage } from '../types/connection';
import { pgDate } from '../types/scalars';
import { redactSessionId } from '../../webhooks/salesforce';
import { WebhookEvent, WebhookEventConnection, WebhookEventStatus } from '../types/webhook';

interface WebhookEventRow {
  id: string;
  connector: string;
  kind: string;
  received_at: Date | string;
  processed_at: Date | string | null;
  status: string;
  external_ids: Array<{ stream: string; externalId: string }>;
  error: { code: string; message: string; records?: Array<{ stream?: string; externalId: string; code: string; message: string }> } | null;
  merged: number;
  unchanged: number;
  failed: number;
  deliveries: number;
  content_type: string | null;
  payload: string;
}

function toWebhookEvent(r: WebhookEventRow): WebhookEvent {
  return Object.assign(new WebhookEvent(), {
    id: String(r.id), connector: r.connector, kind: r.kind, receivedAt: pgDate(r.received_at)!, processedAt: pgDate(r.processed_at),
    status: r.status, records: r.external_ids ?? [], merged: r.merged, unchanged: r.unchanged, failed: r.failed, deliveries: r.deliveries,
    errorCode: r.error?.code ?? null, errorMessage: r.error?.message ?? null,
    recordErrors: (r.error?.records ?? []).map((e) => ({ stream: e.stream ?? null, externalId: e.externalId, code: e.code, message: e.message })),
    // Rows stored before session ids were redacted at arrival (see redactSessionId) hold them still.
    contentType: r.content_type, payload: redactSessionId(r.payload),
  });
}

@Resolver()
export class WebhookResolver {
  @Authorized(Role.ADMIN)
  @Query(() => WebhookEventConnection, { description: 'Pushes received (POST /webhooks/<connector>), newest first, optionally of one connector or status (admin keys).' })
  async webhookEvents(
    @Ctx() ctx: GraphContext,
    @Arg('connector', () => String, { nullable: true }) connector?: string,
    @Arg('status', () => WebhookEventStatus, { nullable: true }) status?: WebhookEventStatus,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<WebhookEventConnection> {
    const size = checkPageSize(first);
    const afterId = decodeCursor(after);
    const where: string[] = [];
    const params: unknown[] = [];
    if (connector != null) { where.push('connector = ?'); params.push(connector); }
    if (status != null) { where.push('status = ?'); params.push(status); }
    if (afterId !== null) { where.push('id < ?'); params.push(afterId); }
    const rows = await sqlRows<WebhookEventRow>(
      ctx.orm,
      `select id, connector, kind, received_at, processed_at, status, external_ids, error, merged, unchanged, failed, deliveries, content_type, payload
         from webhook_event ${where.length ? `where ${where.join(' and ')}` : ''} order by id desc limit ?`,
      [...params, size + 1],
    );
    return Object.assign(new WebhookEventConnection(), toPage(rows.map(toWebhookEvent), size, afterId !== null));
  }
}
