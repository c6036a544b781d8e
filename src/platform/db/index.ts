import path from 'node:path';
import type { Config } from '../config.ts';
import type { Database } from './database.ts';
import { createPgliteDatabase } from './pglite.ts';
import { createPostgresDatabase } from './postgres.ts';

export type { Database, Queryable, QueryOptions, QueryResult, Transaction } from './database.ts';
export { isUniqueViolation, isRetryable } from './database.ts';
export { migrate, loadMigrations, type Migration } from './migrate.ts';
export { createPostgresDatabase } from './postgres.ts';
export { createPgliteDatabase, dumpPglite } from './pglite.ts';

/** `DATABASE_URL` set → a pg pool against that server; unset → PGlite files in DATA_DIR. */
export async function openDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_SCHEMA' | 'DATABASE_POOL_SIZE' | 'dataDir'>,
  applicationName = 'loopwise',
): Promise<Database> {
  if (config.DATABASE_URL) {
    return createPostgresDatabase({
      url: config.DATABASE_URL,
      schema: config.DATABASE_SCHEMA,
      poolSize: config.DATABASE_POOL_SIZE,
      applicationName,
    });
  }
  return createPgliteDatabase({ dataDir: path.join(config.dataDir, 'pglite'), schema: config.DATABASE_SCHEMA });
}
