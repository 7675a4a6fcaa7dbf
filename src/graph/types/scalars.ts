import { GraphQLScalarType, Kind } from 'graphql';
import { JSONObjectResolver } from 'graphql-scalars';

/** Calendar date without time or zone, as `YYYY-MM-DD` (purchase date, warranty end). */
export const LocalDate = new GraphQLScalarType<string, string>({
  name: 'LocalDate',
  description: 'A calendar date without time or zone, written YYYY-MM-DD.',
  serialize: (value) => String(value).slice(0, 10),
  parseValue: (value) => checkDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new TypeError('LocalDate must be a string written YYYY-MM-DD');
    return checkDate(ast.value);
  },
});

function checkDate(value: unknown): string {
  const text = String(value);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const d = m ? new Date(`${text}T00:00:00Z`) : null;
  if (!m || !d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== text) {
    throw new TypeError(`"${text}" is not a date written YYYY-MM-DD`);
  }
  return text;
}

export const JSONObject = JSONObjectResolver;

/**
 * MikroORM's pg driver setup returns timestamptz as text ('2026-11-23 17:06:46.491+00');
 * rows read with raw SQL go through this to become Dates.
 */
export function pgDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  const iso = String(value).replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`unreadable timestamp from database: ${String(value)}`);
  return d;
}
