/**
 * ThingsBoard write-back: a server-side attribute on the device. An attribute save is an upsert
 * (the same value twice leaves the same state), but a retry after a lost answer still reads the
 * attribute first: when it already carries this write's key, nothing is sent again.
 */
import { ConnectorError, WriteOperation, WriteResult } from '../../src/connectors';
import type { ThingsBoardClient } from './client';

export function thingsboardWrites(client: ThingsBoardClient, connector: string): Record<string, WriteOperation> {
  const maintenanceAttribute: WriteOperation = async (payload, ctx): Promise<WriteResult> => {
    if (!ctx.targetId) throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector, message: `${connector}: maintenanceAttribute needs the device id` });
    if (!payload || typeof payload !== 'object' || Array.isArray(payload) || !Object.keys(payload).length) {
      throw new ConnectorError({ code: 'CONNECTOR_REQUEST_REJECTED', connector, message: `${connector}: maintenanceAttribute needs an object of attributes from its mapping` });
    }
    const values = payload as Record<string, unknown>;
    const once = { signal: ctx.signal, maxAttempts: 1 };
    if (ctx.lookupFirst !== false) {
      const current = await client.attributes(ctx.targetId, 'SERVER_SCOPE', Object.keys(values), once);
      const hit = current.find((a) => a.value && typeof a.value === 'object' && (a.value as { key?: unknown }).key === ctx.idempotencyKey);
      if (hit) return { externalId: ctx.targetId, version: String(hit.lastUpdateTs), duplicate: true };
    }
    await client.saveDeviceAttributes(ctx.targetId, 'SERVER_SCOPE', values, once);
    return { externalId: ctx.targetId };
  };
  return { maintenanceAttribute };
}
