import type { Exec } from '../db/sql';
import { textArray } from '../graph/loaders';

export interface Finding {
  fingerprint: string;
  kind: string;
  severity: string;
  entity_type: string;
  entity_id: string | null;
  message: string;
  evidence: unknown;
}

export interface StoreCounts {
  opened: number;
  reopened: number;
  updated: number;
  resolved: number;
}

/**
 * Writes one rule's findings and closes what it no longer finds, in the caller's transaction
 * (two statements, whatever the number of findings). State rules:
 * - new fingerprint → OPEN (first_seen = last_seen = now);
 * - found again → last_seen, message and evidence refreshed, first_seen kept;
 *   OPEN stays OPEN; a finding the checks closed themselves (RESOLVED by a run) reopens;
 *   ACKNOWLEDGED, IGNORED or RESOLVED by a person keep their state while the evidence is the
 *   same and reopen (OPEN, resolution cleared) when it changed — a person judged those values;
 * - not found any more → OPEN and ACKNOWLEDGED become RESOLVED with resolved_by = the run
 *   (`sync:<connector>/<stream> run <n>`, `schedule`…); IGNORED stays IGNORED.
 * State changes made here are written to audit_log (entity data_issue, field state).
 */
export async function storeFindings(exec: Exec, rule: string, findings: Finding[], resolvedBy: string): Promise<StoreCounts> {
  // The time this run saw its findings, taken now (the caller holds the rule's lock), not the
  // transaction's start: a run that waited for the lock must not stamp an earlier time.
  const [{ seen }] = await exec<{ seen: string }>(`select clock_timestamp()::text as seen`);
  const payload = JSON.stringify(findings);
  // States before, read apart: joining them to the upsert's RETURNING in one statement made the
  // planner loop over both (quadratic) for rules with thousands of findings.
  const old = new Map((await exec<{ fingerprint: string; state: string }>(
    `select d.fingerprint, d.state from data_issue d
      where d.fingerprint in (select jsonb_array_elements_text(?::jsonb))`, [JSON.stringify(findings.map((f) => f.fingerprint))])).map((r) => [r.fingerprint, r.state]));
  const upserted = await exec<{ id: string; fingerprint: string; state: string }>(
    `with found as (
       select * from jsonb_to_recordset(?::jsonb)
         as f(fingerprint text, kind text, severity text, entity_type text, entity_id bigint, message text, evidence jsonb)
     )
       insert into data_issue as d (kind, severity, state, entity_type, entity_id, fingerprint, message, evidence, rule, first_seen, last_seen)
       select kind, severity, 'OPEN', entity_type, entity_id, fingerprint, message, evidence, ?, ?::timestamptz, ?::timestamptz from found
       on conflict (fingerprint) do update set
         kind = excluded.kind, severity = excluded.severity, entity_type = excluded.entity_type, entity_id = excluded.entity_id,
         message = excluded.message, evidence = excluded.evidence, rule = excluded.rule, last_seen = excluded.last_seen,
         state = case
           when d.state = 'OPEN' then 'OPEN'
           when d.state = 'RESOLVED' and coalesce(d.resolved_by, '') not like 'apikey:%' then 'OPEN'
           when d.evidence = excluded.evidence then d.state
           else 'OPEN' end,
         resolved_at = case when d.state = 'RESOLVED' and (coalesce(d.resolved_by, '') not like 'apikey:%' or d.evidence <> excluded.evidence)
                            then null else d.resolved_at end,
         resolved_by = case when d.state = 'RESOLVED' and (coalesce(d.resolved_by, '') not like 'apikey:%' or d.evidence <> excluded.evidence)
                            then null else d.resolved_by end
       returning d.id, d.fingerprint, d.state`,
    [payload, rule, seen, seen],
  );
  const rows = upserted.map((r) => ({ id: r.id, before: old.get(r.fingerprint) ?? null, after: r.state }));
  // Everything found above has last_seen = seen; what the rule did not find this time is older
  // (a comparison, not "fingerprint not in <every finding>", which is quadratic for big rules).
  const closed = await exec<{ id: string; before: string; after: string }>(
    `with gone as (
       select id, state from data_issue
        where rule = ? and state in ('OPEN', 'ACKNOWLEDGED') and last_seen < ?::timestamptz
        for update
     )
     update data_issue d set state = 'RESOLVED', resolved_at = now(), resolved_by = ?
       from gone where d.id = gone.id
     returning d.id, gone.state as before, d.state as after`,
    [rule, seen, resolvedBy],
  );
  const changes = [...rows.filter((r) => r.before !== null && r.before !== r.after), ...closed];
  await auditStates(exec, changes, resolvedBy);
  return {
    opened: rows.filter((r) => r.before === null).length,
    reopened: rows.filter((r) => r.before !== null && r.before !== 'OPEN' && r.after === 'OPEN').length,
    updated: rows.filter((r) => r.before !== null).length,
    resolved: closed.length,
  };
}

/**
 * Closes the findings of rules that are no longer in the rules file or are disabled — nothing
 * checks them any more, so left OPEN they would stay open for ever. Only OPEN and ACKNOWLEDGED
 * close (IGNORED stays); a rule that is in the file but does not compile keeps its findings
 * (the caller passes it in `keep`). Findings raised by sync (rule null) are not the checks'.
 * Audited like the other state changes; returns how many closed per retired rule.
 */
export async function retireFindings(exec: Exec, keep: string[], resolvedBy: string): Promise<Map<string, number>> {
  const closed = await exec<{ id: string; rule: string; before: string; after: string }>(
    `with gone as (
       select id, rule, state from data_issue
        where rule is not null and rule <> all(?::text[]) and state in ('OPEN', 'ACKNOWLEDGED')
        for update
     )
     update data_issue d set state = 'RESOLVED', resolved_at = now(), resolved_by = ?,
            resolution_note = 'rule ' || gone.rule || ' is no longer in the rules file or is disabled'
       from gone where d.id = gone.id
     returning d.id, gone.rule, gone.state as before, d.state as after`,
    [textArray(keep), resolvedBy],
  );
  await auditStates(exec, closed, resolvedBy);
  const counts = new Map<string, number>();
  for (const c of closed) counts.set(c.rule, (counts.get(c.rule) ?? 0) + 1);
  return counts;
}

/** State changes a run made, as audit_log rows (one statement). */
async function auditStates(exec: Exec, changes: Array<{ id: string; before: string | null; after: string }>, resolvedBy: string): Promise<void> {
  if (!changes.length) return;
  await exec(
    `insert into audit_log (entity_type, entity_id, field, before, after, actor, origin)
     select 'data_issue', c.id, 'state', to_jsonb(c.before), to_jsonb(c.after), 'system', ?
       from jsonb_to_recordset(?::jsonb) as c(id bigint, before text, after text)`,
    [`checks:${resolvedBy}`, JSON.stringify(changes)],
  );
}
