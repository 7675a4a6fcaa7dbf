import type { CompiledMapping, MappingEngine } from '../mapping/engine';
import type { RuleDef } from './rules';
import { CompiledTemplate, compileTemplate } from './template';

export interface CompiledRule {
  def: RuleDef;
  predicate: CompiledMapping;
  select: CompiledMapping | null;
  message: CompiledTemplate;
}

export interface BrokenRule {
  rule: string;
  error: string;
}

/**
 * Compiles each rule's expressions once with the mapping engine (same helpers and guardrails as
 * the mappings). A rule that does not compile — or whose file is missing — is returned as broken
 * with why; the others are unaffected.
 */
export function compileRules(engine: MappingEngine, rules: RuleDef[]): { compiled: CompiledRule[]; broken: BrokenRule[] } {
  const compiled: CompiledRule[] = [];
  const broken: BrokenRule[] = [];
  for (const def of rules) {
    if (!def.enabled) continue;
    try {
      const expr = (inline: string | undefined, file: string | undefined, what: string) =>
        file !== undefined ? engine.get(file) : engine.compile(`quality rule ${def.name} ${what}`, inline!, 'rules');
      compiled.push({
        def,
        predicate: expr(def.predicate, def.predicateFile, 'predicate'),
        select: def.select !== undefined || def.selectFile !== undefined ? expr(def.select, def.selectFile, 'select') : null,
        message: compileTemplate(engine, `quality rule ${def.name} message`, def.message),
      });
    } catch (e) {
      broken.push({ rule: def.name, error: describe(e) });
    }
  }
  return { compiled, broken };
}

export function describe(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return `${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`;
}
