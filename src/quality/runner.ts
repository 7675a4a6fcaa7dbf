/**
 * Runs the check rules: per rule, one transaction that gathers the scope's candidates with one
 * SQL statement, runs the rule's JSONata (select → predicate → message) per candidate, upserts
 * the findings by fingerprint and closes the rule's findings that are gone (findings.ts).
 * A rule that does not compile or throws is reported with its name in the run summary
 * (quality_run) and the log, and skipped — its transaction rolls back, so its findings stay as
 * they were — while the other rules run.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { bulkExecutor, sqlOne, sqlRows } from '../db/sql';
import { logger } from '../logging/logger';
import { MappingEngine } from '../mapping/engine';
import { BrokenRule, compileRules, CompiledRule, describe } from './compile';
import { Finding, retireFindings, storeFindings } from './findings';
import { loadRules, RuleSet } from './rules';
import { SCOPES } from './scopes';

export interface RuleOutcome {
  rule: string;
  kind?: string;
  candidates?: number;
  found?: number;
  opened?: number;
  reopened?: number;
  updated?: number;
  resolved?: number;
  durationMs?: number;
  /** Why the rule was skipped (did not compile, threw, or its query failed). */
  error?: string;
  /** The rule is no longer in the rules file (or is disabled): its open findings were closed. */
  retired?: boolean;
}

export interface QualityRunResult {
  runId: string;
  trigger: string;
  status: 'SUCCEEDED' | 'PARTIAL';
  rules: RuleOutcome[];
}

export interface RunOptions {
  /** Recorded on the run and as resolved_by of what it closes: `sync:crm/cases run 12`, `schedule`, `cli`, `api:<key>`. */
  trigger: string;
  /** The clock the rules see (`$now`); default the current time. */
  now?: Date;
  /** Only these rules (names). */
  only?: string[];
}

/** Advisory-lock class for "one run of a rule at a time" (with hashtext(rule) as the key). */
const RULE_LOCK = 0x4a514c54;

export class QualityRunner {
  private readonly compiled: CompiledRule[];
  private readonly broken: BrokenRule[];

  constructor(
    private readonly orm: MikroORM,
    readonly rules: RuleSet = loadRules(),
    engine: MappingEngine = new MappingEngine(),
  ) {
    ({ compiled: this.compiled, broken: this.broken } = compileRules(engine, rules.rules));
  }

  async run(opts: RunOptions): Promise<QualityRunResult> {
    const now = opts.now ?? new Date();
    const pick = <T extends { rule?: string; def?: { name: string } }>(r: T) => !opts.only || opts.only.includes(r.rule ?? r.def!.name);
    const run = await sqlOne<{ id: string }>(this.orm, `insert into quality_run (trigger) values (?) returning id`, [opts.trigger]);
    const outcomes: RuleOutcome[] = this.broken.filter(pick).map((b) => ({ rule: b.rule, error: b.error }));
    for (const b of outcomes) logger.warn('data check rule skipped: does not compile', { rule: b.rule, error: b.error });
    for (const rule of this.compiled.filter(pick)) {
      const started = Date.now();
      try {
        outcomes.push({ ...(await this.runRule(rule, opts.trigger, now)), durationMs: Date.now() - started });
      } catch (e) {
        const error = describe(e);
        logger.warn('data check rule skipped: failed', { rule: rule.def.name, error });
        outcomes.push({ rule: rule.def.name, kind: rule.def.kind, error });
      }
    }
    if (!opts.only) outcomes.push(...(await this.retire(opts.trigger)));
    const status = outcomes.some((o) => o.error) ? 'PARTIAL' : 'SUCCEEDED';
    await sqlRows(this.orm, `update quality_run set status = ?, finished_at = now(), summary = ?::jsonb where id = ?`, [status, JSON.stringify(outcomes), run!.id]);
    logger.info('data checks finished', { runId: String(run!.id), trigger: opts.trigger, status, rules: outcomes.length });
    return { runId: String(run!.id), trigger: opts.trigger, status, rules: outcomes };
  }

  /** A full run also closes what removed or disabled rules left open (a rule that does not compile keeps its findings). */
  private async retire(trigger: string): Promise<RuleOutcome[]> {
    const keep = [...this.compiled.map((r) => r.def.name), ...this.broken.map((b) => b.rule)];
    const counts = await this.orm.em.fork().transactional((em) => retireFindings(bulkExecutor(em), keep, trigger));
    return [...counts].map(([rule, resolved]) => {
      logger.info('data check rule retired: its open findings closed', { rule, resolved });
      return { rule, retired: true, resolved };
    });
  }

  private async runRule(rule: CompiledRule, trigger: string, now: Date): Promise<RuleOutcome> {
    const { def } = rule;
    const scope = SCOPES[def.scope];
    const bindings = { thresholds: def.thresholds, now: now.toISOString() };
    return this.orm.em.fork().transactional(async (em) => {
      const exec = bulkExecutor(em);
      await exec(`select pg_advisory_xact_lock(?, hashtext(?))`, [RULE_LOCK, def.name]);
      const q = scope.query(def.thresholds, now);
      const candidates = await exec<{ entity_type: string; entity_id: string | null; key: string; view: unknown }>(q.sql, q.params);
      const findings = new Map<string, Finding>();
      for (const c of candidates) {
        const fingerprint = `${def.kind}:${c.entity_type}:${c.key}`;
        if (findings.has(fingerprint)) continue; // the first candidate of an entity speaks for it
        const view = rule.select ? await rule.select.evaluate(c.view, bindings) : c.view;
        if (view === undefined || view === null) continue;
        const hit = await rule.predicate.evaluate(view, bindings);
        if (hit !== true) continue;
        findings.set(fingerprint, {
          fingerprint, kind: def.kind, severity: def.severity, entity_type: c.entity_type,
          entity_id: c.entity_id === null ? null : String(c.entity_id),
          message: await rule.message.render(view, bindings),
          evidence: view,
        });
      }
      const counts = await storeFindings(exec, def.name, [...findings.values()], trigger);
      return { rule: def.name, kind: def.kind, candidates: candidates.length, found: findings.size, ...counts };
    });
  }
}
