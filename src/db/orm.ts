import { MikroORM, Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ALL_ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/** MikroORM options. Migrations are imported as classes so ts-jest and the built dist run the same list. */
export function ormOptions(databaseUrl: string, extra: Partial<Options> = {}): Options {
  return {
    clientUrl: databaseUrl,
    entities: ALL_ENTITIES,
    extensions: [Migrator],
    discovery: { disableDynamicFileAccess: true },
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    pool: { min: 0, max: 10 },
    // PostgreSQL's JIT compiles any plan whose (often wildly overestimated) cost passes jit_above_cost:
    // our set-based statements over jsonb_to_recordset paid 100–200 ms of compilation per statement
    // for a few ms of work (bench:excel 20k rows 13.3 s → 8.5 s without it). OLTP work never gains from it.
    driverOptions: { connection: { options: '-c jit=off' } },
    forceUtcTimezone: true,
    // Schema changes only through committed migrations, never auto-update at run time.
    ensureDatabase: false,
    debug: false,
    ...extra,
  };
}

export async function openOrm(databaseUrl: string, extra: Partial<Options> = {}): Promise<MikroORM> {
  return MikroORM.init(ormOptions(databaseUrl, extra));
}

/** Applies pending migrations; returns their names. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const done = await orm.getMigrator().up();
  return done.map((m) => m.name);
}
