import { openOrm } from '../../src/db/orm';
import { sqlOne, sqlRows } from '../../src/db/sql';
import { MappingEngine } from '../../src/mapping/engine';
import { loadRules, parseRules } from '../../src/quality/rules';
import { QualityRunner } from '../../src/quality/runner';
import { cloneTemplate, dropDatabase, useTestDatabase } from '../support/databases';
import { EXPECTED_FINGERPRINTS, QUALITY_NOW, QualitySeed, seedQualityData } from '../support/quality';

/** The committed rules over golden data with a positive and a negative case per rule. */
describe('cross-system data checks', () => {
  const db = useTestDatabase();
  let seed: QualitySeed;
  let runner: QualityRunner;
  const issues = async () =>
    sqlRows<any>(db.orm, `select id, kind, severity, state, entity_type, entity_id, fingerprint, message, evidence, rule, first_seen, last_seen, resolved_at, resolved_by
                         from data_issue order by fingerprint`);
  const issue = async (fingerprint: string) => (await sqlOne<any>(db.orm, `select * from data_issue where fingerprint = ?`, [fingerprint]))!;

  beforeAll(async () => {
    seed = await seedQualityData(db.orm);
    runner = new QualityRunner(db.orm, loadRules(), new MappingEngine());
  });

  it('finds exactly the positive cases of every rule, with each system\'s values as evidence', async () => {
    const result = await runner.run({ trigger: 'test', now: QUALITY_NOW });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.rules.map((r) => r.error).filter(Boolean)).toEqual([]);
    const rows = await issues();
    expect(rows.map((r) => r.fingerprint)).toEqual(EXPECTED_FINGERPRINTS);
    expect(rows.every((r) => r.state === 'OPEN' && r.rule)).toBe(true);

    const mismatch = await issue('STATUS_MISMATCH:ticket:T20261120-0001');
    expect(mismatch).toMatchObject({ entity_type: 'ticket', entity_id: seed.tickets.resolvedNamed, severity: 'WARNING', rule: 'ticket-resolved-complaint-open',
      message: 'Ticket T20261120-0001 is RESOLVED in Junction but its CRM case 00001001 is still open' });
    expect(mismatch.evidence).toMatchObject({ pairedBy: 'ticketNumber', junction: { ticket: 'T20261120-0001', status: 'RESOLVED' },
      crm: { caseNumber: '00001001', status: 'OPEN', externalId: '500CASE1001' } });
    expect((await issue('STATUS_MISMATCH:ticket:T20261120-0002')).evidence).toMatchObject({ pairedBy: 'customer', crm: { caseNumber: '00001002' } });

    const warranty = await issue('WARRANTY_MISMATCH:ticket:T20261123-0001');
    expect(warranty.evidence).toEqual({ ticket: { number: 'T20261123-0001', toldWarrantyEnd: '2026-06-30' },
      erp: { serial: 'SN-OWNED-1', warrantyEnd: '2027-06-30', system: 'erp', externalId: 'ERP-SN-OWNED-1' } });
    expect(warranty.message).toBe('Ticket T20261123-0001 was told the warranty of SN-OWNED-1 ends 2026-06-30; erp says 2027-06-30');

    const owners = await issue('OWNER_CONFLICT:device:SN-TWO-OWNERS');
    expect(owners).toMatchObject({ severity: 'ERROR', entity_id: seed.devices.twoOwners });
    expect(owners.evidence.claims).toEqual([
      { system: 'erp', via: 'owner', externalId: 'ERP-SN-TWO-OWNERS', customerId: seed.customers.a, phone: '+8613800000001', name: '张伟' },
      { system: 'erp', via: 'purchase', externalId: 'XSDD-2-1', customerId: seed.customers.b, phone: '+8613800000002', name: '李娜' },
    ]);

    const names = await issue('NAME_MISMATCH:customer:+8613800000002');
    expect(names.evidence.values.map((v: any) => [v.system, v.value])).toEqual([['crm', '李娜'], ['erp', '李纳']]);
    expect(names.message).toBe('Customer +8613800000002 has different names across systems: 李娜 (crm/accounts), 李纳 (erp/customers); kept: 李娜');

    expect((await issue('UNSOLD_DEVICE_REPORTING:device:SN-IOT-UNSOLD')).evidence).toMatchObject({ iot: { telemetry: true, externalIds: ['tb-unsold'] }, erp: { purchases: 0, links: 0 } });
    expect((await issue('TICKET_STALLED:ticket:T20261122-0001')).entity_id).toBe(seed.tickets.stalled);
    expect((await issue('SLA_BREACHED:ticket:T20261123-0003')).entity_id).toBe(seed.tickets.late);

    const repeat = await issue('REPEAT_FAILURE:model:RF-MODEL-3 | 空调 / 制冷异常 / 压缩机不启动');
    expect(repeat).toMatchObject({ entity_type: 'model', entity_id: null });
    expect(repeat.evidence.tickets.map((t: any) => t.number)).toEqual(['T20261110-0003', 'T20261111-0003', 'T20261112-0003']);
    expect(repeat.message).toBe('3 tickets for RF-MODEL-3 with fault 空调 / 制冷异常 / 压缩机不启动 within 7 days: T20261110-0003, T20261111-0003, T20261112-0003');

    const run = await sqlOne<any>(db.orm, `select status, summary from quality_run where id = ?`, [result.runId]);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary.find((r: any) => r.rule === 'repeat-failure')).toMatchObject({ found: 1, opened: 1 });
  });

  it('running again keeps first_seen, bumps last_seen and opens nothing new', async () => {
    const before = await issues();
    const result = await runner.run({ trigger: 'test', now: QUALITY_NOW });
    const after = await issues();
    expect(after.map((r) => [r.id, r.state, String(r.first_seen)])).toEqual(before.map((r) => [r.id, r.state, String(r.first_seen)]));
    expect(after.every((r, i) => new Date(r.last_seen) >= new Date(before[i].last_seen))).toBe(true);
    expect(result.rules.reduce((n, r) => n + (r.opened ?? 0) + (r.resolved ?? 0), 0)).toBe(0);
  });

  it('closes a finding that disappeared with the run that fixed it, audited, and reopens it when it comes back', async () => {
    const fp = 'STATUS_MISMATCH:ticket:T20261120-0001';
    await sqlRows(db.orm, `update complaint set status = 'CLOSED', closed_at = now() where case_number = '00001001'`);
    const result = await runner.run({ trigger: 'sync:crm/cases run 7', now: QUALITY_NOW });
    expect(result.rules.find((r) => r.rule === 'ticket-resolved-complaint-open')).toMatchObject({ found: 1, resolved: 1 });
    const closed = await issue(fp);
    expect(closed).toMatchObject({ state: 'RESOLVED', resolved_by: 'sync:crm/cases run 7' });
    expect(closed.resolved_at).not.toBeNull();
    const audit = await sqlRows<any>(db.orm, `select before, after, actor, origin from audit_log where entity_type = 'data_issue' and entity_id = ?`, [closed.id]);
    expect(audit).toEqual([{ before: 'OPEN', after: 'RESOLVED', actor: 'system', origin: 'checks:sync:crm/cases run 7' }]);
    expect((await issue('STATUS_MISMATCH:ticket:T20261120-0002')).state).toBe('OPEN');

    await sqlRows(db.orm, `update complaint set status = 'OPEN', closed_at = null where case_number = '00001001'`);
    await runner.run({ trigger: 'schedule', now: QUALITY_NOW });
    expect(await issue(fp)).toMatchObject({ state: 'OPEN', resolved_by: null, resolved_at: null, first_seen: closed.first_seen });
  });

  it('leaves IGNORED and ACKNOWLEDGED findings alone while the evidence is the same, and reopens them when it changes', async () => {
    const stalled = 'TICKET_STALLED:ticket:T20261122-0001';
    const owners = 'OWNER_CONFLICT:device:SN-TWO-OWNERS';
    await sqlRows(db.orm, `update data_issue set state = 'IGNORED', resolution_note = 'waiting for the customer' where fingerprint = ?`, [stalled]);
    await sqlRows(db.orm, `update data_issue set state = 'ACKNOWLEDGED' where fingerprint = ?`, [owners]);
    await runner.run({ trigger: 'schedule', now: QUALITY_NOW });
    expect((await issue(stalled)).state).toBe('IGNORED');
    expect((await issue(owners)).state).toBe('ACKNOWLEDGED');

    // A third customer claims the device in the CRM: new evidence, a person must look again.
    await sqlRows(db.orm, `insert into complaint (case_number, customer_id, device_id, status, opened_at) values ('00001099', ?, ?, 'CLOSED', now())`, [seed.customers.c, seed.devices.twoOwners]);
    await runner.run({ trigger: 'schedule', now: QUALITY_NOW });
    const reopened = await issue(owners);
    expect(reopened.state).toBe('OPEN');
    expect(reopened.evidence.claims).toHaveLength(3);

    // The ignored ticket is updated: the finding is gone; an ignored finding stays ignored.
    await sqlRows(db.orm, `update ticket set updated_at = ? where id = ?`, [new Date(QUALITY_NOW.getTime() - 3_600_000).toISOString(), seed.tickets.stalled]);
    await runner.run({ trigger: 'schedule', now: QUALITY_NOW });
    expect((await issue(stalled)).state).toBe('IGNORED');
  });

  it('closes the open findings of a rule removed from the file or disabled, keeps IGNORED and a broken rule\'s, and reopens when the rule is back', async () => {
    const all = loadRules().rules;
    const owners = 'OWNER_CONFLICT:device:SN-TWO-OWNERS';
    const stalled = 'TICKET_STALLED:ticket:T20261122-0001';
    const warranty = 'WARRANTY_MISMATCH:ticket:T20261123-0001';
    const sla = 'SLA_BREACHED:ticket:T20261123-0003';
    await sqlRows(db.orm, `update data_issue set state = 'ACKNOWLEDGED' where fingerprint = ?`, [sla]);
    expect((await issue(stalled)).state).toBe('IGNORED');
    // serial-two-owners removed, ticket-stalled and ticket-past-sla disabled, warranty-end-differs broken.
    const edited = parseRules({ rules: all.filter((r) => r.name !== 'serial-two-owners').map((r) =>
      r.name === 'ticket-stalled' || r.name === 'ticket-past-sla' ? { ...r, enabled: false }
        : r.name === 'warranty-end-differs' ? { ...r, predicate: 'ticket = = 1', predicateFile: undefined } : r) });
    const result = await new QualityRunner(db.orm, edited, new MappingEngine()).run({ trigger: 'schedule', now: QUALITY_NOW });
    expect(result.rules.filter((r) => r.retired).map((r) => [r.rule, r.resolved]).sort())
      .toEqual([['serial-two-owners', 1], ['ticket-past-sla', 1]]);
    expect(await issue(owners)).toMatchObject({ state: 'RESOLVED', resolved_by: 'schedule', resolution_note: 'rule serial-two-owners is no longer in the rules file or is disabled' });
    expect((await issue(sla)).state).toBe('RESOLVED');
    expect((await issue(stalled)).state).toBe('IGNORED');
    expect((await issue(warranty)).state).toBe('OPEN');
    const audit = await sqlRows<any>(db.orm, `select before, after, origin from audit_log where entity_type = 'data_issue' and entity_id = ? order by id desc limit 1`, [(await issue(sla)).id]);
    expect(audit).toEqual([{ before: 'ACKNOWLEDGED', after: 'RESOLVED', origin: 'checks:schedule' }]);
    // A run of named rules retires nothing; the full file brings the removed rule's finding back.
    expect((await runner.run({ trigger: 'cli', only: ['repeat-failure'], now: QUALITY_NOW })).rules.some((r) => r.retired)).toBe(false);
    const back = await runner.run({ trigger: 'schedule', now: QUALITY_NOW });
    expect(back.rules.some((r) => r.retired)).toBe(false);
    expect(await issue(owners)).toMatchObject({ state: 'OPEN', resolved_by: null });
  });

  it('finds a repeat failure with the third ticket in the window, not with two nor across eight days', async () => {
    const rules = parseRules({ rules: [{ ...loadRules().rules.find((r) => r.name === 'repeat-failure'), name: 'repeat-failure-5d', kind: 'REPEAT_FAILURE_5D', thresholds: { windowDays: 5, minTickets: 3 } },
      { ...loadRules().rules.find((r) => r.name === 'repeat-failure'), name: 'repeat-failure-9d', kind: 'REPEAT_FAILURE_9D', thresholds: { windowDays: 9, minTickets: 3 } }] });
    const result = await new QualityRunner(db.orm, rules, new MappingEngine()).run({ trigger: 'test', now: QUALITY_NOW });
    expect(result.rules.filter((r) => !r.retired).map((r) => [r.rule, r.found])).toEqual([['repeat-failure-5d', 0], ['repeat-failure-9d', 2]]);
    const found = await sqlRows<any>(db.orm, `select fingerprint from data_issue where kind = 'REPEAT_FAILURE_9D' order by fingerprint`);
    expect(found.map((r) => r.fingerprint)).toEqual([
      'REPEAT_FAILURE_9D:model:RF-MODEL-3 | 空调 / 制冷异常 / 压缩机不启动',
      'REPEAT_FAILURE_9D:model:RF-MODEL-8D | 空调 / 制冷异常 / 压缩机不启动',
    ]);
  });

  it('skips a rule that does not compile or throws, names it in the run summary, and runs the others', async () => {
    const good = loadRules().rules.find((r) => r.name === 'iot-device-never-sold')!;
    const rules = parseRules({ rules: [
      { ...good, name: 'does-not-compile', kind: 'BROKEN_A', predicate: 'erp.purchases = = 0' },
      { ...good, name: 'throws', kind: 'BROKEN_B', predicate: '$error("boom in the predicate")' },
      { ...good, name: 'unsold-copy', kind: 'UNSOLD_COPY' },
    ] });
    const result = await new QualityRunner(db.orm, rules, new MappingEngine()).run({ trigger: 'test', now: QUALITY_NOW });
    expect(result.status).toBe('PARTIAL');
    const byRule = Object.fromEntries(result.rules.map((r) => [r.rule, r]));
    expect(byRule['does-not-compile'].error).toMatch(/MAPPING_COMPILE_FAILED: .*does-not-compile predicate/);
    expect(byRule.throws.error).toContain('boom in the predicate');
    expect(byRule['unsold-copy']).toMatchObject({ found: 1, opened: 1 });
    expect(await sqlRows(db.orm, `select 1 from data_issue where kind in ('BROKEN_A', 'BROKEN_B')`)).toEqual([]);
    const run = await sqlOne<any>(db.orm, `select status, summary from quality_run where id = ?`, [result.runId]);
    expect(run.status).toBe('PARTIAL');
    expect(run.summary.filter((r: any) => r.error).map((r: any) => r.rule).sort()).toEqual(['does-not-compile', 'throws']);
  });
});

describe('junction checks run', () => {
  let db: { name: string; url: string };
  beforeAll(async () => {
    db = await cloneTemplate();
    const orm = await openOrm(db.url);
    await seedQualityData(orm);
    await orm.close(true);
  });
  afterAll(() => dropDatabase(db.name));

  it('runs the named rules, prints what each did and exits 0', async () => {
    const { runChecksCommand } = await import('../../src/cli/checks');
    let out = '';
    const code = await runChecksCommand({ rule: ['repeat-failure', 'serial-two-owners'] }, { stdout: { write: (s: string) => (out += s) }, databaseUrl: db.url });
    expect(code).toBe(0);
    expect(out).toContain('serial-two-owners: 1 found (1 new, 0 reopened), 0 resolved');
    expect(out).toContain('repeat-failure: 1 found (1 new, 0 reopened), 0 resolved');
    expect(out).toMatch(/checks run \d+: SUCCEEDED/);
    await expect(runChecksCommand({ rule: ['nope'] }, { stdout: { write: () => true }, databaseUrl: db.url })).rejects.toThrow('unknown rule(s): nope');
  });
});
