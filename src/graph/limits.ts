import {
  DocumentNode, FragmentDefinitionNode, GraphQLError, GraphQLSchema, Kind, SelectionSetNode, getNullableType, isListType,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import { ErrorCode } from '../errors/codes';
import { MAX_PAGE_SIZE } from './types/connection';

/** Depth of the deepest field path; introspection fields (`__schema`...) are not counted. */
function selectionDepth(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  let max = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value.startsWith('__')) continue;
      max = Math.max(max, sel.selectionSet ? 1 + selectionDepth(sel.selectionSet, fragments, seen) : 1);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      max = Math.max(max, selectionDepth(sel.selectionSet, fragments, seen));
    } else {
      const name = sel.name.value;
      const frag = fragments.get(name);
      if (!frag || seen.has(name)) continue; // unknown or cyclic fragments are reported by standard rules
      seen.add(name);
      max = Math.max(max, selectionDepth(frag.selectionSet, fragments, seen));
      seen.delete(name);
    }
  }
  return max;
}

/** Depth of the operation that will run (fragments followed). */
export function operationDepth(document: DocumentNode, operationName?: string | null): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let max = 0;
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    if (operationName && def.name?.value !== operationName) continue;
    max = Math.max(max, selectionDepth(def.selectionSet, fragments, new Set()));
  }
  return max;
}

/** Assumed size of a list field that has no `first` argument (devices, purchases, history). */
const ASSUMED_LIST_SIZE = 10;

/**
 * A field costs 1 plus its children, times `first` (or the assumed size) for lists and connections.
 * `first` counts as between 1 and MAX_PAGE_SIZE whatever is asked: a negative or zero `first` (refused
 * by its resolver anyway) must not subtract from or zero its siblings' cost, and more than a page is never served.
 */
export const costEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  const first = typeof args.first === 'number' && Number.isFinite(args.first) ? Math.min(Math.max(Math.trunc(args.first), 1), MAX_PAGE_SIZE) : null;
  const multiplier = first ?? (isListType(getNullableType(field.type)) ? ASSUMED_LIST_SIZE : 1);
  return 1 + childComplexity * multiplier;
};

// Apollo keeps parsed documents in its document store, so the same query text arrives as the same
// DocumentNode: cache its depth and (per variables) cost instead of walking it on every request.
const costCache = new WeakMap<DocumentNode, Map<string, number>>();
const depthCache = new WeakMap<DocumentNode, Map<string, number>>();

function cached(cache: WeakMap<DocumentNode, Map<string, number>>, doc: DocumentNode, key: string, compute: () => number): number {
  let perDoc = cache.get(doc);
  if (!perDoc) cache.set(doc, (perDoc = new Map()));
  let value = perDoc.get(key);
  if (value === undefined) {
    value = compute();
    if (perDoc.size < 100) perDoc.set(key, value);
  }
  return value;
}

export function queryCost(schema: GraphQLSchema, query: DocumentNode, variables: Record<string, unknown>, operationName?: string) {
  // Only scalar variables can change the estimate: numbers feed `first`, booleans `@include`/`@skip`,
  // and a null differs from a missing variable (which takes its default). Strings and input objects
  // cannot, so they stay out of the key (they may be large).
  const scalars = Object.entries(variables).filter(([, v]) => v === null || typeof v === 'number' || typeof v === 'boolean');
  return cached(costCache, query, `${operationName ?? ''}\u0000${JSON.stringify(scalars)}`, () =>
    getComplexity({ schema, query, variables, operationName, estimators: [costEstimator] }));
}

/**
 * Refuses operations that are too deep or whose estimated cost is over the limit, before any
 * resolver runs. A plugin rather than a validation rule so that the error keeps its own code.
 */
export function queryLimitsPlugin(maxDepth: number, maxCost: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          const depth = cached(depthCache, document, request.operationName ?? '', () => operationDepth(document, request.operationName));
          if (depth > maxDepth) {
            throw new GraphQLError(`Query depth ${depth} is over the limit of ${maxDepth}`, {
              extensions: { code: ErrorCode.QUERY_TOO_DEEP, depth, maxDepth, http: { status: 400 } },
            });
          }
          let cost: number;
          try {
            cost = queryCost(schema, document, request.variables ?? {}, request.operationName ?? undefined);
          } catch {
            // Variables that do not coerce: execution reports them as BAD_USER_INPUT with a 400.
            return;
          }
          if (cost > maxCost) {
            throw new GraphQLError(`Query cost ${cost} is over the limit of ${maxCost}; ask for fewer items (first) or fewer fields`, {
              extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, cost, maxCost, http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}
