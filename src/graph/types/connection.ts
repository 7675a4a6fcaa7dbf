import { Field, ObjectType } from 'type-graphql';
import { badInput } from '../../errors/codes';
import { isBigintId } from '../../util/bigint-id';

@ObjectType()
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field() hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;

export { isBigintId };
export const MAX_PAGE_SIZE = 100;

/** Cursors are opaque to clients: base64url of the row id the page continues after. */
export function encodeCursor(id: string): string {
  return Buffer.from(`c:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined, field = 'after'): string | null {
  if (cursor === null || cursor === undefined) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^c:(\d{1,19})$/.exec(text);
  if (!m || !isBigintId(m[1])) throw badInput(`"${cursor}" is not a cursor this API gave out`, field);
  return m[1];
}

export function checkPageSize(first: number | null | undefined, field = 'first'): number {
  const n = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw badInput(`${field} must be between 1 and ${MAX_PAGE_SIZE}, got ${n}`, field);
  }
  return n;
}

/** Builds edges and page info from `first + 1` rows fetched (the extra row says "there is more"). */
export function toPage<T extends { id: string }>(rows: T[], first: number, hasPrevious: boolean) {
  const nodes = rows.slice(0, first);
  const pageInfo = Object.assign(new PageInfo(), {
    hasNextPage: rows.length > first,
    hasPreviousPage: hasPrevious,
    startCursor: nodes.length ? encodeCursor(nodes[0].id) : null,
    endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1].id) : null,
  });
  return { edges: nodes.map((node) => ({ cursor: encodeCursor(node.id), node })), pageInfo };
}
