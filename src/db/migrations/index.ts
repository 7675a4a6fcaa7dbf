import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123000000Init } from './Migration20261123000000Init';

/** Every committed migration, in order. Add new ones at the end. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261123000000Init', class: Migration20261123000000Init },
];
