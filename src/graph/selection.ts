import { FieldNode, GraphQLResolveInfo, Kind, SelectionSetNode } from 'graphql';

function collect(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, out: FieldNode[]): void {
  if (!set) return;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) out.push(sel);
    else if (sel.kind === Kind.INLINE_FRAGMENT) collect(sel.selectionSet, info, out);
    else collect(info.fragments[sel.name.value]?.selectionSet, info, out);
  }
}

/**
 * Names of the fields a client asked for below the current field, following `path` (e.g.
 * ['edges', 'node']). Loaders use it to fetch a relation together with its parent when, and
 * only when, the query will need it.
 */
export function requestedFields(info: GraphQLResolveInfo, path: string[] = []): Set<string> {
  let level: FieldNode[] = [];
  for (const node of info.fieldNodes) collect(node.selectionSet, info, level);
  for (const name of path) {
    const next: FieldNode[] = [];
    for (const f of level) if (f.name.value === name) collect(f.selectionSet, info, next);
    level = next;
  }
  return new Set(level.map((f) => f.name.value));
}
