/**
 * `junction checks run [--rule name…] [--json]`: runs the data check rules now, in this process,
 * and prints what each did. Exit 0 when every rule ran, 1 when some were skipped (did not compile
 * or threw: named with the error) or the rules file is refused.
 * `junction checks list`: the rules of the file, their scope and thresholds.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { openOrm } from '../db/orm';
import { loadRules } from '../quality/rules';
import { QualityRunner } from '../quality/runner';
import { describeSchedule } from '../sync/schedule';

export interface ChecksRunOptions {
  rule?: string[];
  json?: boolean;
  rules?: string;
}

export async function runChecksCommand(opts: ChecksRunOptions, io: { stdout: { write(s: string): unknown }; databaseUrl?: string }): Promise<number> {
  const rules = loadRules(opts.rules);
  const unknown = (opts.rule ?? []).filter((n) => !rules.rules.some((r) => r.name === n));
  if (unknown.length) throw new Error(`unknown rule(s): ${unknown.join(', ')}; rules: ${rules.rules.map((r) => r.name).join(', ')}`);
  const orm = await openOrm(io.databaseUrl ?? loadConfig().databaseUrl);
  try {
    const result = await new QualityRunner(orm, rules).run({ trigger: 'cli', only: opts.rule?.length ? opts.rule : undefined });
    if (opts.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      for (const r of result.rules) {
        io.stdout.write(r.error
          ? `${r.rule}: SKIPPED ${r.error}\n`
          : r.retired ? `${r.rule}: retired (not in the rules file or disabled), ${r.resolved} open finding(s) closed\n`
          : `${r.rule}: ${r.found} found (${r.opened} new, ${r.reopened} reopened), ${r.resolved} resolved, ${r.candidates} candidates\n`);
      }
      io.stdout.write(`checks run ${result.runId}: ${result.status}\n`);
    }
    return result.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await orm.close(true);
  }
}

export function registerChecksCommands(program: Command): void {
  const checks = program.command('checks').description('Cross-system data checks (rules in mappings/quality/rules.json)');
  checks
    .command('run')
    .description('Run the check rules now and record their findings as data issues')
    .option('--rule <name...>', 'only these rules')
    .option('--rules <file>', 'rules file (default mappings/quality/rules.json)')
    .option('--json', 'print the run summary as JSON')
    .action(async (opts: ChecksRunOptions) => {
      process.exitCode = await runChecksCommand(opts, { stdout: process.stdout });
    });
  checks
    .command('list')
    .description('List the rules, their scope and thresholds (validates the file)')
    .option('--rules <file>', 'rules file (default mappings/quality/rules.json)')
    .action((opts: { rules?: string }) => {
      const set = loadRules(opts.rules);
      process.stdout.write(`${set.file}: schedule ${describeSchedule(set.schedule)}\n`);
      for (const r of set.rules) {
        process.stdout.write(`${r.name}${r.enabled ? '' : ' (disabled)'}: ${r.kind} ${r.severity} scope ${r.scope} ${JSON.stringify(r.thresholds)}\n`);
      }
    });
}
