import { readFileSync } from 'fs';
import { join } from 'path';
import { printGatewaySchema } from '../../src/graph/schema';

describe('schema/schema.graphql', () => {
  it('matches the schema built from the code (run `npm run schema:print` after changing types)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema', 'schema.graphql'), 'utf8');
    expect(printGatewaySchema()).toBe(committed);
  });
});
