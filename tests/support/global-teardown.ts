import { dropRunDatabases } from './admin';

export default async function globalTeardown(): Promise<void> {
  await dropRunDatabases();
}
