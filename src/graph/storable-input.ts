import { ArgumentNode, ASTNode, DocumentNode, GraphQLError, Kind, ObjectFieldNode, visit } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { unstorableCharacter } from '../db/storable-text';
import { ErrorCode } from '../errors/codes';

/** Where: a path like `input.fault` (a variable's, or in the query text the argument's, with its line); what: the character. */
interface Found {
  path: string;
  what: string;
  line?: number;
}

/** The first string in a variable's value holding a character PostgreSQL cannot store, with its path. */
function findInValue(value: unknown, path: string): Found | null {
  if (typeof value === 'string') {
    const what = unstorableCharacter(value);
    return what ? { path, what } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findInValue(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = findInValue(v, `${path}.${k}`) ?? findInValue(k, `${path}.${k}`);
      if (found) return found;
    }
  }
  return null;
}

// Apollo keeps parsed documents in its document store: the same query text is the same DocumentNode.
const literalCache = new WeakMap<DocumentNode, Found | null>();

/** The same in the query text's string literals (`fault: "…\u0000"`), named by the argument or input field they are given to. */
function findInDocument(document: DocumentNode): Found | null {
  let found: Found | null = null;
  visit(document, {
    StringValue(node, _key, parent, _path, ancestors) {
      const what = found ? null : unstorableCharacter(node.value);
      if (!what) return;
      // `ancestors` stops above the parent (the argument or input field the string is given to).
      const names = [...ancestors, parent].filter((a): a is ArgumentNode | ObjectFieldNode => a !== undefined && !Array.isArray(a) && ((a as ASTNode).kind === Kind.ARGUMENT || (a as ASTNode).kind === Kind.OBJECT_FIELD))
        .map((a) => a.name.value);
      found = { path: names.length ? names.join('.') : 'a string', what, line: node.loc?.startToken.line };
    },
  });
  return found;
}

/**
 * Refuses an operation whose input holds U+0000 or an unpaired surrogate (src/db/storable-text.ts)
 * before any resolver runs: PostgreSQL cannot store either, so the write would fail as an internal
 * error part way. BAD_USER_INPUT naming the field instead, so the sender can fix it.
 */
export function storableInputPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          let literal = literalCache.get(document);
          if (literal === undefined) literalCache.set(document, (literal = findInDocument(document)));
          const found = findInValue(request.variables ?? {}, '') ?? literal;
          if (!found) return;
          const field = found.path.replace(/^\./, '');
          throw new GraphQLError(`${field}${found.line ? ` (line ${found.line})` : ''} holds ${found.what}, which Junction cannot store; remove it`, {
            extensions: { code: ErrorCode.BAD_USER_INPUT, field, http: { status: 400 } },
          });
        },
      };
    },
  };
}
