import { Migration } from '@mikro-orm/migrations';
import { redactSessionId } from '../../webhooks/salesforce';

/**
 * Salesforce outbound messages sent with "Send Session ID" carry a live API session in
 * `<SessionId>`; `webhook_event.payload` kept it in clear until pushes were redacted at arrival
 * (src/webhooks/service.ts). This redacts the rows stored before, with the same function, in
 * batches by id. Data only: the schema does not change.
 */
export class Migration20261206100000WebhookSessionId extends Migration {
  override async up(): Promise<void> {
    let after = '0';
    for (;;) {
      const rows = await this.execute(
        `select id, payload from webhook_event where id > ? and payload like '%SessionId%' order by id limit 500`, [after]) as Array<{ id: string; payload: string }>;
      if (!rows.length) return;
      const changed = rows.map((r) => ({ id: String(r.id), payload: redactSessionId(r.payload) })).filter((r, i) => r.payload !== rows[i].payload);
      if (changed.length) {
        await this.execute(`update webhook_event e set payload = x.payload from jsonb_to_recordset(?::jsonb) x(id bigint, payload text) where e.id = x.id`, [JSON.stringify(changed)]);
      }
      after = String(rows[rows.length - 1].id);
    }
  }
}
