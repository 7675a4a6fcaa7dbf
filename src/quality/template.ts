import type { CompiledMapping, MappingEngine } from '../mapping/engine';

/** A message template: text with `{{ jsonata }}` placeholders, each compiled once. */
export interface CompiledTemplate {
  render(input: unknown, bindings: Record<string, unknown>): Promise<string>;
}

const PLACEHOLDER = /\{\{([\s\S]*?)\}\}/g;

export function compileTemplate(engine: MappingEngine, name: string, template: string): CompiledTemplate {
  const parts: Array<string | CompiledMapping> = [];
  let last = 0;
  let i = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index));
    parts.push(engine.compile(`${name}{{${++i}}}`, m[1], 'rules'));
    last = m.index! + m[0].length;
  }
  parts.push(template.slice(last));
  return {
    async render(input, bindings) {
      const out: string[] = [];
      for (const p of parts) {
        if (typeof p === 'string') out.push(p);
        else {
          const v = await p.evaluate(input, bindings);
          out.push(v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
        }
      }
      return out.join('');
    },
  };
}
