import { randomBytes } from 'crypto';
import { templateName, withAdmin } from './admin';

/** Names this run and creates its (empty) template database; the first test file migrates it. */
export default async function globalSetup(): Promise<void> {
  process.env.JUNCTION_TEST_RUN = randomBytes(4).toString('hex');
  await withAdmin((c) => c.query(`CREATE DATABASE "${templateName()}"`));
}
