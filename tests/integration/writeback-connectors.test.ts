import { isConnectorError } from '../../src/connectors';
import type { ConnectorInstance } from '../../src/sync/pipeline';
import { closeInstances } from '../../src/sync/instances';
import { sandboxInstances, startWritebackSandboxes, WritebackSandboxes } from '../support/writeback';

describe('connector write operations against the sandboxes', () => {
  let sb: WritebackSandboxes;
  let instances: Map<string, ConnectorInstance>;
  const write = (connector: string, op: string) => instances.get(connector)!.connector.write![op];

  beforeAll(async () => {
    sb = await startWritebackSandboxes();
    instances = sandboxInstances(sb.configYaml);
  });
  afterAll(async () => {
    await closeInstances(instances);
    await sb.close();
  });

  it('Salesforce: a Task on the Account; a retry after a lost response finds it by Junction_Key__c', async () => {
    const account = sb.crm.control.records('Account')[0];
    const note = { WhatId: account.Id, Subject: 'Junction ticket T20260218-0001: resolved', Status: 'Completed' };
    sb.crm.control.loseResponseNext(1, /\/sobjects\/Task\/$/);
    await expect(write('crm', 'accountNote')(note, { idempotencyKey: 'k-note-1' })).rejects.toThrow();
    const retry = await write('crm', 'accountNote')(note, { idempotencyKey: 'k-note-1' });
    expect(retry.duplicate).toBe(true);
    expect(sb.crm.control.effects.count('k-note-1')).toBe(1);
    const tasks = sb.crm.control.records('Task').filter((t) => t.Junction_Key__c === 'k-note-1');
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ WhatId: account.Id, Subject: note.Subject });
  });

  it('negative control: without the look-up a lost response makes a second Task', async () => {
    const account = sb.crm.control.records('Account')[0];
    const note = { WhatId: account.Id, Subject: 'x' };
    sb.crm.control.loseResponseNext(1, /\/sobjects\/Task\/$/);
    await expect(write('crm', 'accountNote')(note, { idempotencyKey: 'k-note-2', lookupFirst: false })).rejects.toThrow();
    await write('crm', 'accountNote')(note, { idempotencyKey: 'k-note-2', lookupFirst: false });
    expect(sb.crm.control.effects.count('k-note-2')).toBe(2);
    expect(sb.crm.control.effects.duplicates()).toContain('k-note-2');
  });

  it('Salesforce: closes the Case; a Case changed since Junction saw it comes back as a conflict, unwritten', async () => {
    const open = sb.crm.control.records('Case').filter((c) => !c.IsClosed);
    const [a, b] = open;
    const ok = await write('crm', 'closeCase')({ Status: 'Closed' }, { idempotencyKey: 'k-case-1', targetId: a.Id, targetVersion: String(a.SystemModstamp) });
    expect(ok.conflict).toBeUndefined();
    expect(sb.crm.control.records('Case').find((c) => c.Id === a.Id)).toMatchObject({ Status: 'Closed', IsClosed: true, Junction_Key__c: 'k-case-1' });
    const again = await write('crm', 'closeCase')({ Status: 'Closed' }, { idempotencyKey: 'k-case-1', targetId: a.Id });
    expect(again.duplicate).toBe(true);

    const seen = new Date(Date.parse(String(b.SystemModstamp)) - 5000).toISOString(); // Junction saw an older version
    const res = await write('crm', 'closeCase')({ Status: 'Closed' }, { idempotencyKey: 'k-case-2', targetId: b.Id, targetVersion: seen });
    expect(res.conflict?.current).toMatchObject({ IsClosed: false });
    expect(sb.crm.control.effects.count('k-case-2')).toBe(0);
    const forced = await write('crm', 'closeCase')({ Status: 'Closed' }, { idempotencyKey: 'k-case-2', targetId: b.Id, targetVersion: seen, force: true });
    expect(forced.conflict).toBeUndefined();
    expect(sb.crm.control.effects.count('k-case-2')).toBe(1);
  });

  it('Kingdee: Save of the service record; a lost answer is found by FNumber and not saved again; the next write updates it', async () => {
    const save = (key: string, status: string) =>
      write('erp', 'serviceRecord')({ formId: 'JUNC_ServiceRecord', data: { Model: { FID: 0, FNumber: 'T20260218-0002', F_JUNC_SerialNo: 'SN1', F_JUNC_Status: status } } }, { idempotencyKey: key });
    sb.erp.control.loseResponseNext(1, 'Save'); // the look-up is answered, the Save is done but its answer lost
    await expect(save('k-kd-1', 'IN_PROGRESS')).rejects.toThrow();
    const retry = await save('k-kd-1', 'IN_PROGRESS');
    expect(sb.erp.control.effects.count('k-kd-1')).toBe(1);
    expect(retry.externalId).toBeTruthy();
    await save('k-kd-2', 'RESOLVED');
    const rows = sb.erp.control.data.forms.JUNC_ServiceRecord.rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ FNumber: 'T20260218-0002', F_JUNC_Status: 'RESOLVED', F_JUNC_Key: 'k-kd-2' });
  });

  it('ThingsBoard: the maintenance attribute; a retry after a lost answer sees its key and sends nothing', async () => {
    const device = sb.iot.control.devices()[0];
    const id = device.device.id.id;
    const attr = { junctionMaintenance: { ticket: 'T20260218-0003', status: 'RESOLVED', key: 'k-tb-1' } };
    sb.iot.control.loseResponseNext(1, { method: 'POST', path: '/attributes/SERVER_SCOPE' });
    await expect(write('iot', 'maintenanceAttribute')(attr, { idempotencyKey: 'k-tb-1', targetId: id })).rejects.toThrow();
    const retry = await write('iot', 'maintenanceAttribute')(attr, { idempotencyKey: 'k-tb-1', targetId: id });
    expect(retry.duplicate).toBe(true);
    expect(sb.iot.control.effects.count('k-tb-1')).toBe(1);
    expect(sb.iot.control.device(id)!.attributes.SERVER_SCOPE.junctionMaintenance.value).toEqual(attr.junctionMaintenance);
  });

  it('a 4xx the vendor refuses is a rejected request (dead letter), a 500 is retryable', async () => {
    sb.crm.control.respondNext(1, 400, [{ errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Subject too long' }], { match: /\/sobjects\/Task\/$/ });
    const err = await write('crm', 'accountNote')({ Subject: 'x' }, { idempotencyKey: 'k-4xx' }).catch((e) => e);
    expect(isConnectorError(err, 'CONNECTOR_REQUEST_REJECTED')).toBe(true);
    expect(err.retryable).toBe(false);
    expect(String(err.message)).toMatch(/Subject too long/);
    sb.crm.control.failNext(1, 500, { match: /\/sobjects\/Task\/$/ });
    const err5 = await write('crm', 'accountNote')({ Subject: 'x' }, { idempotencyKey: 'k-5xx' }).catch((e) => e);
    expect(err5.retryable).toBe(true);
  });

  it('Salesforce UNABLE_TO_LOCK_ROW (a 400: another transaction holds the row) is retryable, not a dead letter', async () => {
    const locked = [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record or 1 records: 0015g00000LSN0aAAH' }];
    const open = sb.crm.control.records('Case').filter((c) => !c.IsClosed);
    const target = open[open.length - 1];
    const writes: Array<[string, Record<string, unknown>, RegExp, { targetId?: string }]> = [
      ['accountNote', { Subject: 'x' }, /\/sobjects\/Task\/$/, {}],
      ['closeCase', { Status: 'Closed' }, /\/sobjects\/Case\/[^/]+$/, { targetId: target.Id }],
    ];
    for (const [op, payload, match, ctx] of writes) {
      // Writes go once per job attempt: the job's retry (after its look-up) is what lands it.
      sb.crm.control.respondNext(1, 400, locked, { match });
      const key = `k-lock-${op}`;
      const err = await write('crm', op)(payload, { idempotencyKey: key, ...ctx }).catch((e) => e);
      expect(isConnectorError(err, 'CONNECTOR_UNAVAILABLE')).toBe(true);
      expect(err.retryable).toBe(true);
      expect(err.status).toBe(400);
      expect(String(err.message)).toMatch(/UNABLE_TO_LOCK_ROW/);
      expect(sb.crm.control.effects.count(key)).toBe(0);
      const retried = await write('crm', op)(payload, { idempotencyKey: key, ...ctx });
      expect(retried.conflict).toBeUndefined();
      expect(sb.crm.control.effects.count(key)).toBe(1);
    }
  });
});
