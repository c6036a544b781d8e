import type { AnalyticsDb } from './duckdb.ts';
import { openAnalyticsDb } from './duckdb.ts';
import { migrateAnalytics } from './migrate.ts';

/**
 * The one process that writes analytics holds the DuckDB file through this: opened (and migrated)
 * on first use, so a server starting while a CLI still holds the file comes up anyway and its
 * jobs pick the file up once it is free; and used by one piece of work at a time, because the
 * single connection's transactions do not nest (the live outbox job and a handed-over file
 * ingest take turns).
 */
export interface AnalyticsOwner {
  readonly path: string;
  /** Runs `work` with the database once earlier work is done. */
  use<T>(work: (db: AnalyticsDb) => Promise<T>): Promise<T>;
  /** Runs `work` only if nothing else is using the database now; `undefined` when busy. */
  tryUse<T>(work: (db: AnalyticsDb) => Promise<T>): Promise<T | undefined>;
  /** Waits for the current work, then closes the file. */
  close(): Promise<void>;
}

export function createAnalyticsOwner(file: string, open: (file: string) => Promise<AnalyticsDb> = openAnalyticsDb): AnalyticsOwner {
  let db: AnalyticsDb | undefined;
  let tail: Promise<unknown> = Promise.resolve();
  /** Work started or waiting. */
  let pending = 0;
  let closed = false;

  const run = <T>(work: (db: AnalyticsDb) => Promise<T>): Promise<T> => {
    pending++;
    const result = tail.then(async () => {
      try {
        if (closed) throw new Error('the analytics database is closed');
        if (!db) {
          const opened = await open(file);
          try {
            await migrateAnalytics(opened);
          } catch (error) {
            opened.close();
            throw error;
          }
          db = opened;
        }
        return await work(db);
      } finally {
        pending--;
      }
    });
    tail = result.catch(() => undefined);
    return result;
  };

  return {
    path: file,
    use: run,
    async tryUse(work) {
      if (pending > 0) return undefined;
      return run(work);
    },
    async close() {
      await tail;
      closed = true;
      db?.close();
      db = undefined;
    },
  };
}
