import { sqlRows } from '../../src/db/sql';
import { startTestHub, TestHub } from '../support/server';
import { EXPECTED_FINGERPRINTS, QualitySeed, seedQualityData } from '../support/quality';

const ISSUES = `query($filter: DataIssueFilter, $first: Int, $after: String) { dataIssues(filter: $filter, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id kind severity state entityType entityId fingerprint message evidence rule firstSeen lastSeen resolvedAt resolvedBy resolutionNote } } } }`;
const RESOLVE = `mutation($id: ID!, $state: DataIssueState!, $reason: String) { resolveDataIssue(id: $id, state: $state, reason: $reason) {
  id state resolvedBy resolutionNote resolvedAt } }`;
const RUN = `mutation { runDataChecks { id trigger status rules { rule kind found opened resolved error } } }`;

describe('data issues over GraphQL', () => {
  let hub: TestHub;
  let seed: QualitySeed;

  beforeAll(async () => {
    hub = await startTestHub();
    seed = await seedQualityData(hub.server.orm);
  });
  afterAll(() => hub.stop());

  it('runDataChecks is for admin keys and reports what each rule did', async () => {
    const denied = await hub.gql(RUN);
    expect(denied.errors![0].extensions!.code).toBe('FORBIDDEN');
    const r = await hub.gql(RUN, {}, hub.keys.admin);
    expect(r.errors).toBeUndefined();
    // The committed rules use the real clock here: the seed's stalled/late tickets are relative to
    // 2026-11-23T12:00Z, so only the clock-free findings are asserted.
    expect(r.data.runDataChecks).toMatchObject({ trigger: 'api:apikey:test-admin', status: 'SUCCEEDED' });
    expect(r.data.runDataChecks.rules.find((x: any) => x.rule === 'repeat-failure')).toMatchObject({ kind: 'REPEAT_FAILURE', found: 1, opened: 1, error: null });
  });

  it('dataIssues filters by kind, severity, state and entity, and pages newest first', async () => {
    const all = await hub.gql(ISSUES, { first: 100 });
    expect(all.errors).toBeUndefined();
    const fingerprints = all.data.dataIssues.edges.map((e: any) => e.node.fingerprint);
    for (const fp of EXPECTED_FINGERPRINTS.filter((f) => !/^(TICKET_STALLED|SLA_BREACHED)/.test(f))) expect(fingerprints).toContain(fp);
    expect(all.data.dataIssues.totalCount).toBe(fingerprints.length);

    const owners = await hub.gql(ISSUES, { filter: { kind: 'OWNER_CONFLICT', severity: 'ERROR', state: 'OPEN', entityType: 'device', entityId: seed.devices.twoOwners } });
    expect(owners.data.dataIssues.totalCount).toBe(1);
    const node = owners.data.dataIssues.edges[0].node;
    expect(node).toMatchObject({ kind: 'OWNER_CONFLICT', state: 'OPEN', entityType: 'device', entityId: seed.devices.twoOwners, rule: 'serial-two-owners', resolvedAt: null });
    expect(node.evidence.claims.map((c: any) => c.phone)).toEqual(['+8613800000001', '+8613800000002']);

    const page1 = await hub.gql(ISSUES, { first: 2 });
    const page2 = await hub.gql(ISSUES, { first: 2, after: page1.data.dataIssues.pageInfo.endCursor });
    const ids = [...page1.data.dataIssues.edges, ...page2.data.dataIssues.edges].map((e: any) => Number(e.node.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(4);

    const bad = await hub.gql(ISSUES, { filter: { entityId: 'abc' } });
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.entityId' });
  });

  it('Customer.dataIssues lists issues of the customer, its devices and tickets, with a fixed number of statements', async () => {
    const Q = `query($first: Int) { customers(first: $first) { edges { node { phone dataIssues { kind entityType } open: dataIssues(state: [OPEN]) { kind } } } } }`;
    const orm = hub.server.orm;
    const count = async (first: number) => {
      let n = 0;
      const knex = orm.em.getConnection().getKnex();
      const onQuery = () => { n++; };
      knex.on('query', onQuery);
      const r = await hub.gql(Q, { first });
      knex.off('query', onQuery);
      expect(r.errors).toBeUndefined();
      return { n, customers: r.data.customers.edges.map((e: any) => e.node) };
    };
    const one = await count(1);
    const three = await count(3);
    expect(three.n).toBe(one.n);
    // Clock-free kinds only: runDataChecks ran on the real clock, and the seed's tickets (dated around
    // 2026-11-23) grow stalled and past their SLA as the calendar moves on.
    const kinds = (phone: string) => three.customers.find((c: any) => c.phone === phone).dataIssues
      .map((i: any) => `${i.entityType}:${i.kind}`).filter((k: string) => !/:(TICKET_STALLED|SLA_BREACHED)$/.test(k)).sort();
    // A: the device claimed by B too, the ticket told a wrong warranty end, the resolved ticket whose case is open.
    expect(kinds('+8613800000001')).toEqual(['device:OWNER_CONFLICT', 'ticket:STATUS_MISMATCH', 'ticket:WARRANTY_MISMATCH']);
    // B: two names across systems, and its resolved ticket paired with an open complaint.
    expect(kinds('+8613800000002')).toEqual(expect.arrayContaining(['customer:NAME_MISMATCH', 'ticket:STATUS_MISMATCH']));
  });

  it('resolveDataIssue: admin only, IGNORED needs a reason, audited, and a later run leaves the decision alone', async () => {
    const list = await hub.gql(ISSUES, { filter: { kind: 'NAME_MISMATCH' } });
    const id = list.data.dataIssues.edges[0].node.id;
    const portal = await hub.gql(RESOLVE, { id, state: 'IGNORED', reason: 'same person' });
    expect(portal.errors![0].extensions!.code).toBe('FORBIDDEN');
    const noReason = await hub.gql(RESOLVE, { id, state: 'IGNORED', reason: '  ' }, hub.keys.admin);
    expect(noReason.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason', recordId: id });
    const missing = await hub.gql(RESOLVE, { id: '999999', state: 'RESOLVED' }, hub.keys.admin);
    expect(missing.errors![0].extensions).toMatchObject({ code: 'NOT_FOUND', recordId: '999999' });
    const reopen = await hub.gql(RESOLVE, { id, state: 'OPEN' }, hub.keys.admin);
    expect(reopen.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'state' });

    const r = await hub.gql(RESOLVE, { id, state: 'IGNORED', reason: '李纳 is a typo in the ERP; fixed there next month' }, hub.keys.admin);
    expect(r.errors).toBeUndefined();
    expect(r.data.resolveDataIssue).toMatchObject({ id, state: 'IGNORED', resolvedBy: 'apikey:test-admin', resolutionNote: '李纳 is a typo in the ERP; fixed there next month' });
    const audit = await sqlRows<any>(hub.server.orm, `select field, before, after, actor, origin from audit_log where entity_type = 'data_issue' and entity_id = ? order by id`, [id]);
    expect(audit).toEqual([
      { field: 'state', before: 'OPEN', after: 'IGNORED', actor: 'apikey:test-admin', origin: 'graphql' },
      { field: 'resolution_note', before: null, after: '李纳 is a typo in the ERP; fixed there next month', actor: 'apikey:test-admin', origin: 'graphql' },
    ]);

    await hub.gql(RUN, {}, hub.keys.admin);
    const after = await hub.gql(ISSUES, { filter: { kind: 'NAME_MISMATCH' } });
    expect(after.data.dataIssues.edges[0].node).toMatchObject({ id, state: 'IGNORED' });
  });
});
