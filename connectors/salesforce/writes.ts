/**
 * Salesforce write-back operations. Salesforce has no Idempotency-Key header, so every write
 * stores its key in the external id field `Junction_Key__c` and looks for it first: a retry after
 * a lost response finds the Task (or the Case) it already wrote and does not write twice.
 *
 * - accountNote: creates a Task on the Account (body from mappings/salesforce/account-note.out).
 * - closeCase: PATCHes the Case with If-Unmodified-Since = the SystemModstamp Junction last saw;
 *   a 412 (changed since) is re-read and returned as a conflict, never overwritten blindly.
 */
import { ConnectorError, isConnectorError, WriteContext, WriteOperation, WriteResult } from '../../src/connectors';
import type { SalesforceClient, SalesforceRecord } from './client';

/** SOQL string literal: backslash and quote escaped. */
export function soqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function body(payload: unknown, connector: string, what: string): Record<string, unknown> {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector, message: `${connector}: ${what} needs an object of field values from its mapping` });
  }
  return payload as Record<string, unknown>;
}

function targetId(ctx: WriteContext, connector: string, what: string): string {
  if (!ctx.targetId) throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector, message: `${connector}: ${what} needs the target record id` });
  return ctx.targetId;
}

export function salesforceWrites(client: SalesforceClient): Record<string, WriteOperation> {
  const connector = client.connector;
  // One try per call: the write-back queue owns retries (backoff, Retry-After, dead letter).
  const once = (ctx: WriteContext) => ({ signal: ctx.signal, maxAttempts: 1 });

  const findByKey = async (sobject: string, key: string, ctx: WriteContext): Promise<SalesforceRecord | undefined> => {
    const page = await client.query(`SELECT Id, SystemModstamp FROM ${sobject} WHERE Junction_Key__c = ${soqlString(key)} LIMIT 1`, once(ctx));
    return page.records[0];
  };

  const accountNote: WriteOperation = async (payload, ctx): Promise<WriteResult> => {
    const fields = { ...body(payload, connector, 'accountNote'), Junction_Key__c: ctx.idempotencyKey };
    if (ctx.lookupFirst !== false) {
      const existing = await findByKey('Task', ctx.idempotencyKey, ctx);
      if (existing) return { externalId: existing.Id, version: String(existing.SystemModstamp ?? ''), duplicate: true };
    }
    const saved = await client.createRecord('Task', fields, once(ctx));
    return { externalId: saved.id };
  };

  const closeCase: WriteOperation = async (payload, ctx): Promise<WriteResult> => {
    const id = targetId(ctx, connector, 'closeCase');
    const fields: Record<string, unknown> = { ...body(payload, connector, 'closeCase'), Junction_Key__c: ctx.idempotencyKey };
    const read = () => client.getRecord('Case', id, ['Status', 'IsClosed', 'Junction_Key__c', 'SystemModstamp'], once(ctx));
    if (ctx.lookupFirst !== false) {
      const current = await read();
      if (current.Junction_Key__c === ctx.idempotencyKey) return { externalId: id, version: String(current.SystemModstamp), duplicate: true };
      if (current.IsClosed === true && current.Status === fields.Status) return { externalId: id, version: String(current.SystemModstamp), unchanged: true };
    }
    const since = ctx.force || !ctx.targetVersion ? undefined : new Date(ctx.targetVersion);
    try {
      await client.updateRecord('Case', id, fields, { ...once(ctx), ifUnmodifiedSince: since && !Number.isNaN(since.getTime()) ? since : undefined });
    } catch (err) {
      if (!isConnectorError(err, 'CONNECTOR_CONFLICT')) throw err;
      const current = await read();
      // Changed since, but already as wanted (closed by another ticket's write, or by hand): nothing to decide.
      if (current.IsClosed === true && current.Status === fields.Status) return { externalId: id, version: String(current.SystemModstamp), unchanged: true };
      return { externalId: id, version: String(current.SystemModstamp), conflict: { current: { Status: current.Status, IsClosed: current.IsClosed }, version: String(current.SystemModstamp) } };
    }
    return { externalId: id };
  };

  return { accountNote, closeCase };
}
