/**
 * Kingdee K3 Cloud write-back operations. K3 WebAPI has no idempotency header, and Save creates a
 * new record when the Model's id is 0, so the connector looks first: ExecuteBillQuery by the
 * record's number (FNumber = the ticket number). Found with our key in F_JUNC_Key = already
 * applied (a retry after a lost answer); found otherwise = Save updates it by its FID.
 */
import { ConnectorError, WriteOperation, WriteResult } from '../../src/connectors';
import type { KingdeeClient } from './client';

/** K3 FilterString literal: single quotes doubled. */
export function kingdeeString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

interface SavePayload {
  formId: string;
  data: { Model: Record<string, unknown> } & Record<string, unknown>;
}

function savePayload(payload: unknown, connector: string): SavePayload {
  const p = payload as Partial<SavePayload> | null;
  if (!p || typeof p.formId !== 'string' || !p.data || typeof p.data !== 'object' || !p.data.Model || typeof p.data.Model !== 'object') {
    throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector, message: `${connector}: serviceRecord needs {formId, data: {Model}} from its mapping` });
  }
  return p as SavePayload;
}

export function kingdeeWrites(client: KingdeeClient, connector: string): Record<string, WriteOperation> {
  const serviceRecord: WriteOperation = async (payload, ctx): Promise<WriteResult> => {
    const { formId, data } = savePayload(payload, connector);
    const model: Record<string, unknown> = { ...data.Model, F_JUNC_Key: ctx.idempotencyKey };
    const number = model.FNumber;
    if (typeof number !== 'string' || !number) {
      throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector, message: `${connector}: serviceRecord needs Model.FNumber` });
    }
    // One try per call: the write-back queue owns retries.
    const once = { signal: ctx.signal, maxAttempts: 1 };
    // Always looked up: besides finding our key, it gives the FID without which Save would try to
    // create the record again (K3 refuses a second record with the same number).
    const rows = await client.executeBillQuery({ FormId: formId, FieldKeys: 'FID,F_JUNC_Key,FModifyDate', FilterString: `FNumber=${kingdeeString(number)}`, TopRowCount: 1, Limit: 1 }, once);
    const row = rows[0];
    if (row && row[1] === ctx.idempotencyKey && ctx.lookupFirst !== false) return { externalId: String(row[0]), version: row[2] == null ? null : String(row[2]), duplicate: true };
    if (row) model.FID = row[0];
    const saved = await client.save(formId, { ...data, Model: model }, once);
    return { externalId: saved.id };
  };
  return { serviceRecord };
}
