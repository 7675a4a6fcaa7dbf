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
