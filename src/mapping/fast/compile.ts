/**
 * Compiles the AST of `jsonata(source).ast()` into synchronous closures that mirror jsonata
 * 2.2.2's evaluate() node by node (same sequence flags, same singleton unwrapping, same object
 * key order), for a conservative subset: paths over field names with filters, literals,
 * variables and `:=` blocks, object/array constructors, `?:`, and/or, comparisons, `&`,
 * arithmetic, `in`, the built-ins of builtins.ts, user functions bound once in a block and
 * called by name, and $map/$filter with an inline function or a one-argument built-in. Anything else is refused at compile time (`Unsupported`: the mapping stays on
 * JSONata); at run time anything off the happy path bails (bail.ts) to JSONata for that record.
 *
 * No loops of its own: without recursion (a user function may only call functions bound before it,
 * see findLambdas), sorting or ranges, the only iteration is over the input's arrays (paths,
 * filters, $map/$filter), so an evaluation's time is bounded by the expression and the input and
 * JSONata's time budget cannot be needed; the depth guardrail is checked statically (the deepest
 * possible nesting is below the engine's maxDepth).
 */
import { bail } from './bail';
import { BUILTINS, FUNCTION_NAMES, RegexArg } from './builtins';
import { FastLambda, Frame } from './frame';
import {
  append,
  boolize,
  createSequence,
  isArrayOfNumbers,
  isDeepEqual,
  isFunction,
  isNumeric,
  isSequence,
  lookup,
  normalize,
  Seq,
  toBoolean,
  toJsonataString,
} from './values';

export type Ev = (input: any, env: Frame) => any;

/** Why a mapping has no fast path (a construct outside the subset). */
export class Unsupported extends Error {}

type Node = Record<string, any>;

const no = (why: string): never => {
  throw new Unsupported(why);
};

/** Keys each node may carry besides type/value/position; any other key (group, tuple, focus, keepArray, ...) is refused. */
const ALLOWED: Record<string, string[]> = {
  path: ['steps'],
  name: ['stages', 'predicate'],
  string: ['stages', 'predicate'],
  number: ['stages', 'predicate'],
  value: ['stages', 'predicate'],
  variable: ['stages', 'predicate'],
  binary: ['lhs', 'rhs', 'predicate'],
  unary: ['expression', 'expressions', 'lhs', 'consarray', 'stages', 'predicate'],
  condition: ['condition', 'then', 'else', 'predicate'],
  block: ['expressions', 'consarray', 'stages', 'predicate'],
  bind: ['lhs', 'rhs'],
  function: ['procedure', 'arguments', 'stages', 'predicate'],
  lambda: ['arguments', 'body', 'thunk'],
  regex: [],
};

const BINARY = new Set(['+', '-', '*', '/', '%', '=', '!=', '<', '<=', '>', '>=', '&', 'and', 'or', 'in']);

interface Ctx {
  /** name → source order of its (single) binding, for variables bound to a user function. */
  lambdas: Map<string, number>;
  /** The user function being compiled (its order), or -1 at top level. */
  inLambda: number;
  /** Built-in and registered function names the expression calls (bindings must not shadow them). */
  called: Set<string>;
}

function checkKeys(node: Node): void {
  const allowed = ALLOWED[node.type];
  if (!allowed) no(`node type ${node.type}`);
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'value' || key === 'position' || node[key] === undefined) continue;
    if (!allowed.includes(key)) no(`${key} on ${node.type}`);
  }
  if (node.stages) for (const s of node.stages) if (s.type !== 'filter') no(`stage ${s.type}`);
}

/** Pre-pass: user functions are bound once (in a block, not last), never read as values, never nested. */
function findLambdas(ast: Node): Map<string, number> {
  const binds = new Map<string, number>();
  const lambdas = new Map<string, number>();
  let order = 0;
  const visit = (node: any, parent: Node | null, inLambda: boolean): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, parent, inLambda));
    if (!node || typeof node !== 'object' || node instanceof RegExp) return;
    if (node.type === 'bind') {
      const name = node.lhs.value as string;
      binds.set(name, (binds.get(name) ?? 0) + 1);
      if (node.rhs.type === 'lambda') {
        if (inLambda) no('a function defined inside a function');
        if (!parent || parent.type !== 'block') return no('a function bound outside a block');
        const last = parent.expressions[parent.expressions.length - 1];
        if (last === node) no('a function as the value of a block');
        lambdas.set(name, order++);
      }
    }
    if (node.type === 'lambda' && !node.thunk) {
      const hofArgument = parent?.type === 'function' && parent.procedure?.type === 'variable' && HOFS.has(parent.procedure.value) && parent.arguments[1] === node;
      if (parent?.type !== 'bind' && !hofArgument) no('an inline function outside $map/$filter');
      if (node.signature) no('a function signature');
    }
    for (const [k, v] of Object.entries(node)) {
      if (k === 'position' || k === 'value') continue;
      visit(v, node, inLambda || (node.type === 'lambda' && !node.thunk));
    }
  };
  visit(ast, null, false);
  for (const name of lambdas.keys()) if (binds.get(name) !== 1) no(`function variable $${name} bound more than once`);
  return lambdas;
}

export function compileAst(ast: Node): { ev: Ev; called: Set<string>; height: number } {
  const ctx: Ctx = { lambdas: findLambdas(ast), inLambda: -1, called: new Set() };
  const ev = compileNode(ast, ctx);
  return { ev, called: ctx.called, height: height(ast, ctx) };
}

/** The deepest evaluate() nesting JSONata could reach (a call to a user function adds its body's). */
function height(ast: Node, ctx: Ctx): number {
  const bodies = new Map<string, Node>();
  const collect = (node: any): void => {
    if (Array.isArray(node)) return node.forEach(collect);
    if (!node || typeof node !== 'object' || node instanceof RegExp) return;
    if (node.type === 'bind' && node.rhs.type === 'lambda') bodies.set(node.lhs.value, node.rhs.body);
    for (const [k, v] of Object.entries(node)) if (k !== 'position' && k !== 'value') collect(v);
  };
  collect(ast);
  const memo = new Map<Node, number>();
  const h = (node: any): number => {
    if (Array.isArray(node)) return Math.max(0, ...node.map(h));
    if (!node || typeof node !== 'object' || node instanceof RegExp) return 0;
    const hit = memo.get(node);
    if (hit !== undefined) return hit;
    let max = 0;
    for (const [k, v] of Object.entries(node)) if (k !== 'position' && k !== 'value') max = Math.max(max, h(v));
    if (node.type === 'function' && node.procedure?.type === 'variable' && ctx.lambdas.has(node.procedure.value)) {
      max = Math.max(max, h(bodies.get(node.procedure.value)) + 2);
    }
    memo.set(node, max + 1);
    return max + 1;
  };
  return h(ast);
}

function compileNode(node: Node, ctx: Ctx): Ev {
  checkKeys(node);
  const core = compileCore(node, ctx);
  const preds = (node.predicate ?? []).map((p: Node) => {
    if (p.type !== 'filter') no(`predicate ${p.type}`);
    return compileFilter(p.expr, ctx);
  });
  // Literals are never sequences: nothing to normalize.
  if (preds.length === 0 && (node.type === 'string' || node.type === 'number' || node.type === 'value')) return core;
  if (preds.length === 0) return (input, env) => normalize(core(input, env), false);
  return (input, env) => {
    let result = core(input, env);
    for (const p of preds) result = p(result, env);
    return normalize(result, false);
  };
}

function compileCore(node: Node, ctx: Ctx): Ev {
  switch (node.type) {
    case 'path':
      return compilePath(node, ctx);
    case 'name': {
      const key = node.value as string;
      return (input) => lookup(input, key);
    }
    case 'string':
    case 'number':
    case 'value': {
      const value = node.value;
      return () => value;
    }
    case 'variable':
      return compileVariable(node, ctx);
    case 'binary':
      return compileBinary(node, ctx);
    case 'unary':
      return compileUnary(node, ctx);
    case 'condition': {
      const cond = compileNode(node.condition, ctx);
      const then = compileNode(node.then, ctx);
      const otherwise = node.else === undefined ? null : compileNode(node.else, ctx);
      return (input, env) => {
        if (toBoolean(cond(input, env))) return then(input, env);
        return otherwise ? otherwise(input, env) : undefined;
      };
    }
    case 'block': {
      const exprs = (node.expressions as Node[]).map((e) => compileNode(e, ctx));
      return (input, env) => {
        const frame = new Frame(env);
        let result: unknown;
        for (const e of exprs) result = e(input, frame);
        return result;
      };
    }
    case 'bind': {
      const name = node.lhs.value as string;
      if (FUNCTION_NAMES.has(name)) no(`rebinding $${name}`);
      if (node.rhs.type === 'lambda') {
        const lambda = compileLambda(node.rhs, ctx, ctx.lambdas.get(name)!);
        return (input, env) => {
          env.bind(name, lambda(input, env));
          return undefined; // never the block's value (findLambdas)
        };
      }
      const rhs = compileNode(node.rhs, ctx);
      return (input, env) => {
        const value = rhs(input, env);
        env.bind(name, value);
        return value;
      };
    }
    case 'function':
      return compileCall(node, ctx);
    case 'lambda':
      // A tail call (JSONata's trampoline thunk): the call itself, its result not normalized.
      if (node.thunk && node.body.type === 'function' && node.arguments.length === 0) {
        checkKeys(node.body);
        return compileCall(node.body, ctx);
      }
      return no('a function value');
    default:
      return no(`node type ${node.type}`);
  }
}

function compileVariable(node: Node, ctx: Ctx): Ev {
  const name = node.value as string;
  if (name === '') return (input) => (input && input.outerWrapper ? input[0] : input);
  if (ctx.lambdas.has(name)) no(`function $${name} as a value`);
  // A function's name reads the function unless the caller bound a value to it.
  if (FUNCTION_NAMES.has(name)) return (_input, env) => (env.has(name) ? env.lookup(name) : bail());
  return (_input, env) => env.lookup(name);
}

/** The closure bound to the variable: its body runs on the input the function was defined on (JSONata's lambda.input). */
function compileLambda(node: Node, ctx: Ctx, order: number): Ev {
  checkKeys(node);
  const params = (node.arguments as Node[]).map((a) => {
    if (a.type !== 'variable' || FUNCTION_NAMES.has(a.value) || ctx.lambdas.has(a.value)) no(`parameter $${a.value}`);
    return a.value as string;
  });
  const outer = ctx.inLambda;
  ctx.inLambda = order;
  const body = compileNode(node.body, ctx);
  ctx.inLambda = outer;
  return (input, env) => new FastLambda(params, body, input, env);
}

function compileCall(node: Node, ctx: Ctx): Ev {
  if (node.procedure.type !== 'variable') no('calling an expression');
  const name = node.procedure.value as string;
  const args = (node.arguments as Node[]).map((a) => a);
  if (ctx.lambdas.has(name)) {
    const order = ctx.lambdas.get(name)!;
    if (ctx.inLambda >= 0 && order >= ctx.inLambda) no(`$${name} called from a function bound before it (recursion)`);
    const argEvs = args.map((a) => compileNode(a, ctx));
    return (input, env) => {
      const proc = env.lookup(name);
      if (!(proc instanceof FastLambda)) return bail();
      const values = argEvs.map((a) => a(input, env));
      const frame = new Frame(proc.env);
      proc.params.forEach((p, i) => frame.bind(p, values[i]));
      return proc.body(proc.input, frame);
    };
  }
  if (HOFS.has(name)) return compileHof(node, ctx);
  const builtin = BUILTINS[name];
  if (!builtin) return no(`function $${name}`);
  if (args.length < builtin.min || args.length > builtin.max) no(`$${name} with ${args.length} arguments`);
  ctx.called.add(name);
  const argEvs = args.map((a, i): Ev => {
    if (a.type === 'regex') {
      if (!builtin.regexArgs?.includes(i)) no(`a regex as argument ${i + 1} of $${name}`);
      checkKeys(a);
      const re = new RegexArg(new RegExp(a.value as RegExp));
      return () => re;
    }
    return compileNode(a, ctx);
  });
  const impl = builtin.impl;
  if (argEvs.length === 1) {
    const [a0] = argEvs;
    return (input, env) => impl([noFunction(a0(input, env))]);
  }
  return (input, env) => impl(argEvs.map((a) => noFunction(a(input, env))));
}

/** $map / $filter with an inline function or a one-argument built-in ($trim): JSONata's fn.map / fn.filter. */
const HOFS = new Set(['map', 'filter']);

/** Built-ins whose JSONata implementation takes one parameter: as a $map function they get the value only. */
const ONE_ARG = new Set(['trim', 'uppercase', 'lowercase', 'length', 'number', 'string', 'boolean', 'not', 'exists', 'type', 'abs']);

type HofFn = (input: any, env: Frame) => (value: unknown, index: number, arr: unknown[]) => unknown;

function compileHof(node: Node, ctx: Ctx): Ev {
  const name = node.procedure.value as string;
  if (node.arguments.length !== 2) no(`$${name} with ${node.arguments.length} arguments`);
  ctx.called.add(name);
  const arr = compileNode(node.arguments[0], ctx);
  const fnNode = node.arguments[1] as Node;
  let fn: HofFn;
  if (fnNode.type === 'lambda' && !fnNode.thunk) {
    checkKeys(fnNode);
    const params = (fnNode.arguments as Node[]).map((a) => {
      if (a.type !== 'variable' || FUNCTION_NAMES.has(a.value) || ctx.lambdas.has(a.value)) no(`parameter $${a.value}`);
      return a.value as string;
    });
    const body = compileNode(fnNode.body, ctx);
    // hofFuncArgs: the value, then the index and the array only if the function takes them.
    fn = (input, env) => (value, index, array) => {
      const frame = new Frame(env);
      const args = [value, index, array];
      params.forEach((p, i) => frame.bind(p, i < 3 ? args[i] : undefined));
      return body(input, frame);
    };
  } else if (fnNode.type === 'variable' && ONE_ARG.has(fnNode.value) && !fnNode.predicate && !fnNode.stages) {
    ctx.called.add(fnNode.value);
    const impl = BUILTINS[fnNode.value].impl;
    fn = () => (value) => impl([value]);
  } else {
    return no(`$${name} with a function other than an inline one or a one-argument built-in`);
  }
  const filter = name === 'filter';
  return (input, env) => {
    let a = arr(input, env);
    if (a instanceof FastLambda || isFunction(a)) bail();
    if (typeof a === 'undefined') return undefined;
    if (!Array.isArray(a)) a = [a]; // the signature <af> makes an array of a single value
    const f = fn(input, env);
    const result = createSequence();
    for (let i = 0; i < a.length; i++) {
      const res = f(a[i], i, a);
      if (filter) {
        if (toBoolean(res)) result.push(a[i]);
      } else if (typeof res !== 'undefined') {
        result.push(res);
      }
    }
    return result;
  };
}

/** A function value as an argument: JSONata wraps it in a closure; the fast path never makes one. */
function noFunction(v: unknown): unknown {
  return v instanceof FastLambda ? bail() : v;
}

function compileFilter(pred: Node, ctx: Ctx): (input: any, env: Frame) => Seq {
  if (pred.type === 'number' && !pred.predicate && !pred.stages) {
    const literal = Math.floor(pred.value as number);
    return (input) => {
      let results = createSequence();
      if (!Array.isArray(input)) input = createSequence(input);
      const index = literal < 0 ? input.length + literal : literal;
      const item = input[index];
      if (typeof item !== 'undefined') {
        if (Array.isArray(item)) results = item;
        else results.push(item);
      }
      return results;
    };
  }
  const ev = compileNode(pred, ctx);
  return (input, env) => {
    const results = createSequence();
    if (!Array.isArray(input)) input = createSequence(input);
    for (let index = 0; index < input.length; index++) {
      const item = input[index];
      let res = ev(item, env);
      if (isNumeric(res)) res = [res];
      if (isArrayOfNumbers(res)) {
        for (const ires of res) {
          let ii = Math.floor(ires);
          if (ii < 0) ii = input.length + ii;
          if (ii === index) results.push(item);
        }
      } else if (toBoolean(res)) {
        results.push(item);
      }
    }
    return results;
  };
}

interface Step {
  ev: Ev;
  stages: Array<(input: any, env: Frame) => Seq>;
  consarray: boolean;
}

/** A path of plain field names (`a`, `a.b.c`, `` `x.y` ``): no filters, stages, variables or constructors. */
function plainNames(node: Node): string[] | null {
  const keys: string[] = [];
  for (const s of node.steps as Node[]) {
    if (s.type !== 'name' || s.stages || s.predicate || s.consarray || s.keepArray || s.tuple || s.focus || s.group) return null;
    keys.push(s.value as string);
  }
  return keys;
}

function compilePath(node: Node, ctx: Ctx): Ev {
  const general = compileGeneralPath(node, ctx);
  const keys = plainNames(node);
  if (!keys) return general;
  // Field after field through plain objects (most of a mapping's reads): the value itself, without
  // the sequences the general steps build. An array anywhere but in the last field, or a sequence,
  // takes the general path, which gives the same answer (lookups have no side effects).
  return (input, env) => {
    if (Array.isArray(input)) return general(input, env);
    let v = input;
    for (let i = 0; i < keys.length; i++) {
      if (v === null || typeof v !== 'object') return undefined;
      if (Array.isArray(v) || isFunction(v)) return general(input, env);
      if (!Object.prototype.hasOwnProperty.call(v, keys[i])) return undefined;
      v = v[keys[i]];
    }
    if (Array.isArray(v) && isSequence(v)) return general(input, env);
    return v;
  };
}

function compileGeneralPath(node: Node, ctx: Ctx): Ev {
  const steps: Step[] = (node.steps as Node[]).map((s) => ({
    ev: compileNode(s, ctx),
    stages: (s.stages ?? []).map((st: Node) => compileFilter(st.expr, ctx)),
    consarray: s.consarray === true,
  }));
  const absolute = node.steps[0].type === 'variable';
  const last = steps.length - 1;
  return (input, env) => {
    let inputSequence: any = Array.isArray(input) && !absolute ? input : createSequence(input);
    let resultSequence: any;
    for (let ii = 0; ii < steps.length; ii++) {
      const step = steps[ii];
      if (ii === 0 && step.consarray) {
        resultSequence = step.ev(inputSequence, env);
        if (resultSequence !== undefined && !Array.isArray(resultSequence)) bail();
      } else {
        resultSequence = evaluateStep(step, inputSequence, env, ii === last);
      }
      if (typeof resultSequence === 'undefined' || resultSequence.length === 0) break;
      inputSequence = resultSequence;
    }
    return resultSequence;
  };
}

function evaluateStep(step: Step, input: any[], env: Frame, lastStep: boolean): Seq {
  const result = createSequence();
  for (let ii = 0; ii < input.length; ii++) {
    let res = step.ev(input[ii], env);
    for (const stage of step.stages) res = stage(res, env);
    if (typeof res !== 'undefined') result.push(res);
  }
  if (lastStep && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) return result[0];
  const resultSequence = createSequence();
  for (const res of result) {
    if (!Array.isArray(res) || (res as Seq).cons) resultSequence.push(res);
    else for (const val of res) resultSequence.push(val);
  }
  return resultSequence;
}

function compileBinary(node: Node, ctx: Ctx): Ev {
  const op = node.value as string;
  if (!BINARY.has(op)) no(`operator ${op}`);
  const lhs = compileNode(node.lhs, ctx);
  const rhs = compileNode(node.rhs, ctx);
  switch (op) {
    case 'and':
      return (input, env) => boolize(lhs(input, env)) && boolize(rhs(input, env));
    case 'or':
      return (input, env) => boolize(lhs(input, env)) || boolize(rhs(input, env));
    case '=':
    case '!=': {
      const eq = op === '=';
      return (input, env) => {
        const l = lhs(input, env);
        const r = rhs(input, env);
        if (typeof l === 'undefined' || typeof r === 'undefined') return false;
        return isDeepEqual(l, r) === eq;
      };
    }
    case '<':
    case '<=':
    case '>':
    case '>=':
      return (input, env) => compare(lhs(input, env), rhs(input, env), op);
    case '&':
      return (input, env) => {
        const l = lhs(input, env);
        const r = rhs(input, env);
        const ls = typeof l === 'undefined' ? '' : (toJsonataString(l) as string);
        const rs = typeof r === 'undefined' ? '' : (toJsonataString(r) as string);
        return ls.concat(rs);
      };
    case 'in':
      return (input, env) => {
        const l = lhs(input, env);
        let r = rhs(input, env);
        if (typeof l === 'undefined' || typeof r === 'undefined') return false;
        if (!Array.isArray(r)) r = [r];
        for (let i = 0; i < r.length; i++) if (r[i] === l) return true;
        return false;
      };
    default:
      return (input, env) => numeric(lhs(input, env), rhs(input, env), op);
  }
}

/** evaluateNumericExpression: T2001/T2002 bail. */
function numeric(l: any, r: any, op: string): number | undefined {
  if (typeof l !== 'undefined' && !isNumeric(l)) bail();
  if (typeof r !== 'undefined' && !isNumeric(r)) bail();
  if (typeof l === 'undefined' || typeof r === 'undefined') return undefined;
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    default:
      return l % r;
  }
}

/** evaluateComparisonExpression: T2010 (not comparable) and T2009 (mixed types) bail. */
function compare(l: any, r: any, op: string): boolean | undefined {
  const lt = typeof l;
  const rt = typeof r;
  const lc = lt === 'undefined' || lt === 'string' || lt === 'number';
  const rc = rt === 'undefined' || rt === 'string' || rt === 'number';
  if (!lc || !rc) bail();
  if (lt === 'undefined' || rt === 'undefined') return undefined;
  if (lt !== rt) bail();
  switch (op) {
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    default:
      return l >= r;
  }
}

function compileUnary(node: Node, ctx: Ctx): Ev {
  switch (node.value) {
    case '-': {
      const e = compileNode(node.expression, ctx);
      return (input, env) => {
        const v = e(input, env);
        if (typeof v === 'undefined') return undefined;
        if (isNumeric(v)) return -v;
        return bail(); // D1002
      };
    }
    case '[': {
      const items = (node.expressions as Node[]).map((item) => ({ ev: compileNode(item, ctx), nested: item.value === '[' }));
      const cons = node.consarray === true;
      return (input, env) => {
        let result: any[] = [];
        for (const item of items) {
          const value = item.ev(input, env);
          if (typeof value !== 'undefined') {
            if (item.nested) result.push(value);
            else result = append(result, value);
          }
        }
        if (cons) Object.defineProperty(result, 'cons', { enumerable: false, configurable: false, value: true });
        return result;
      };
    }
    case '{':
      return compileObject(node, ctx);
    default:
      return no(`unary ${node.value}`);
  }
}

/** evaluateGroupExpression (no tuple streams): items grouped by key, each value evaluated on its group. */
function compileObject(node: Node, ctx: Ctx): Ev {
  // JSONata evaluates a constructor's values concurrently (Promise.all): a binding made in one
  // value is seen by another or not depending on how their steps interleave, not in source order.
  if (bindsOutsideBlock(node.lhs)) no('`:=` in an object constructor outside a block');
  const pairs = (node.lhs as Node[][]).map(([k, v]) => ({ key: compileNode(k, ctx), value: compileNode(v, ctx) }));
  const general = compileGroups(pairs);
  const literal = literalKeys(node.lhs as Node[][]);
  if (!literal) return general;
  // Literal, distinct keys on one input (not an array): one group per pair, so each value is
  // evaluated on the input itself, in the order JSONata lists the groups (Object.keys order).
  const order = literal.order.map((i) => ({ key: literal.keys[i], value: pairs[i].value }));
  return (input, env) => {
    if (Array.isArray(input)) return general(input, env);
    const result = Object.create(null);
    for (let i = 0; i < order.length; i++) {
      const value = order[i].value(input, env);
      if (typeof value !== 'undefined') {
        if (value instanceof FastLambda || isFunction(value)) bail();
        result[order[i].key] = value;
      }
    }
    return result;
  };
}

/** The keys when every key is a string literal, all distinct and not JSONata's reserved ones, with their evaluation order. */
function literalKeys(lhs: Node[][]): { keys: string[]; order: number[] } | null {
  const keys: string[] = [];
  const index: Record<string, number> = Object.create(null);
  for (const [k] of lhs) {
    if (k.type !== 'string' || k.stages || k.predicate) return null;
    const key = k.value as string;
    if (key in index || key === '_jsonata_lambda' || key === '_jsonata_function') return null;
    index[key] = keys.length;
    keys.push(key);
  }
  return { keys, order: Object.keys(index).map((key) => index[key]) };
}

/** Whether a `:=` is reached without entering a block (which has its own frame) or a function. */
function bindsOutsideBlock(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(bindsOutsideBlock);
  if (!node || typeof node !== 'object' || node instanceof RegExp) return false;
  const n = node as Node;
  if (n.type === 'bind') return true;
  if (n.type === 'block' || n.type === 'lambda') return false;
  return Object.entries(n).some(([k, v]) => k !== 'position' && k !== 'value' && bindsOutsideBlock(v));
}

type Pair = { key: Ev; value: Ev };

function compileGroups(pairs: Pair[]): Ev {
  return (input, env) => {
    const result = Object.create(null);
    const groups: Record<string, { data: any; exprIndex: number }> = Object.create(null);
    if (!Array.isArray(input)) input = createSequence(input);
    if (input.length === 0) bail(); // JSONata pushes undefined into that (caller's) array
    for (let itemIndex = 0; itemIndex < input.length; itemIndex++) {
      const item = input[itemIndex];
      for (let pairIndex = 0; pairIndex < pairs.length; pairIndex++) {
        const key = pairs[pairIndex].key(item, env);
        if (typeof key !== 'string' && key !== undefined) bail(); // T1003
        if (key === undefined) continue;
        if (key === '_jsonata_lambda' || key === '_jsonata_function') bail(); // D1013
        if (Object.prototype.hasOwnProperty.call(groups, key)) {
          if (groups[key].exprIndex !== pairIndex) bail(); // D1009
          groups[key].data = append(groups[key].data, item);
        } else {
          groups[key] = { data: item, exprIndex: pairIndex };
        }
      }
    }
    for (const key of Object.keys(groups)) {
      const entry = groups[key];
      const value = pairs[entry.exprIndex].value(entry.data, env);
      if (typeof value !== 'undefined') {
        if (value instanceof FastLambda || isFunction(value)) bail();
        result[key] = value;
      }
    }
    return result;
  };
}
