import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parse, validate } from 'graphql';
import { buildGatewaySchema } from '../../src/graph/schema';

const dir = join(__dirname, '..', '..', 'schema', 'examples');

describe('schema/examples', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.graphql'));
  it('has examples', () => expect(files.length).toBeGreaterThanOrEqual(5));
  it.each(files)('%s is valid against the schema', (file) => {
    const errors = validate(buildGatewaySchema(), parse(readFileSync(join(dir, file), 'utf8')));
    expect(errors.map((e) => e.message)).toEqual([]);
  });
});
