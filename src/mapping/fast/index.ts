/**
 * The fast path of a mapping: `compileFast(ast)` gives a synchronous evaluator for expressions in
 * the supported subset (compile.ts), or the reason there is none. `run` returns BAILED whenever
 * the record must be evaluated by JSONata instead (bail.ts).
 */
import { BAILED } from './bail';
import { compileAst, Unsupported } from './compile';
import { Frame } from './frame';
import { createSequence, isSequence } from './values';

export { BAILED } from './bail';

export interface FastMapping {
  run(input: unknown, bindings?: Record<string, unknown>): unknown;
}

export type FastCompileResult = { fast: FastMapping; reason?: undefined } | { fast?: undefined; reason: string };

/** `maxDepth`: the engine's nesting guardrail; an expression that could come near it stays on JSONata. */
export function compileFast(ast: unknown, maxDepth: number): FastCompileResult {
  let compiled: ReturnType<typeof compileAst>;
  try {
    compiled = compileAst(ast as Record<string, any>);
  } catch (e) {
    if (e instanceof Unsupported) return { reason: e.message };
    return { reason: `fast path compiler failed: ${(e as Error).message}` }; // a bug here must not stop the mapping
  }
  if (compiled.height + 10 > maxDepth) return { reason: `nesting depth ${compiled.height} near the guardrail ${maxDepth}` };
  const { ev, called } = compiled;
  return {
    fast: {
      run(input, bindings) {
        try {
          const root = new Frame(null);
          if (bindings !== null && typeof bindings === 'object') {
            for (const key of Object.keys(bindings)) {
              if (called.has(key)) return BAILED; // the caller rebinds a function the expression calls
              root.bind(key, bindings[key]);
            }
          }
          root.bind('$', input);
          let context: any = input;
          if (Array.isArray(input) && !isSequence(input)) {
            context = createSequence(input);
            context.outerWrapper = true;
          }
          return ev(context, root);
        } catch {
          // BAIL, or anything else thrown (a helper's own error): JSONata gives the answer or the error.
          return BAILED;
        }
      },
    },
  };
}
