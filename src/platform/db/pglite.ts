import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { createTimeSlice } from '../time-slice.ts';
import { withRetries, type Database, type Queryable } from './database.ts';
import type { Transaction as PgliteTransaction } from '@electric-sql/pglite';

export interface PgliteOptions {
  /** A directory for a persistent database, or undefined for an in-memory one. */
  dataDir?: string;
  schema: string;
  /** A data directory dump (from `dumpDataDir`) to start from; skips initdb, used by tests. */
  loadDataDir?: Blob | File;
}

export async function createPgliteDatabase(options: PgliteOptions): Promise<Database> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${options.schema}; SET search_path TO ${options.schema}, public;`);

  // PGlite runs each statement in the calling thread and resolves without giving the event loop
  // back, so a chain of statements (a model read in pieces, a batch of reads) would hold it from
  // the first to the last. Pausing once a few milliseconds have passed lets requests in between,
  // as a network database's socket round trips do.
  const slice = createTimeSlice();
  const adapt = (target: Pick<PGlite, 'query'>): Queryable => ({
    async query<Row>(sql: string, params?: readonly unknown[]) {
      if (slice.due()) await slice.pause();
      const result = await target.query<Row>(sql, params as unknown[]);
      // PGlite reports affectedRows 0 for SELECT; pg reports the row count: take whichever applies.
      return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
    },
  });
  const direct = adapt(db);

  return {
    kind: 'pglite',
    query: direct.query,
    async exec(sql) {
      await db.exec(sql);
    },
    transaction(work) {
      // PGlite has one connection: its transaction() serialises every other query behind it.
      return withRetries(() =>
        db.transaction((tx: PgliteTransaction) =>
          work({
            ...adapt(tx),
            exec: async (sql) => {
              await tx.exec(sql);
            },
          }),
        ),
      );
    },
    async ping() {
      await db.query('SELECT 1');
    },
    async close() {
      await db.close();
    },
  };
}

/** Dump of a database's files, so tests can clone a migrated database without a new initdb. */
export async function dumpPglite(dataDir: string): Promise<Blob> {
  const db = await PGlite.create({ dataDir });
  try {
    return await db.dumpDataDir('none');
  } finally {
    await db.close();
  }
}
