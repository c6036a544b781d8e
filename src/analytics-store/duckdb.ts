import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { AppError, type Config } from '../platform/index.ts';

/**
 * The analytics store: one DuckDB file (DATA_DIR/analytics.duckdb unless ANALYTICS_DB_PATH says
 * otherwise). DuckDB lets exactly one process open a file for writing, and while it does no other
 * process can open it at all, not even to read. Opening a held file therefore fails at once with
 * a `unavailable` AppError naming the holder, instead of waiting or crashing.
 */

export type SqlParams = DuckDBValue[] | Record<string, DuckDBValue>;
/** Types for parameters DuckDB cannot infer (lists: `{ ids: LIST(VARCHAR) }`). */
export type SqlTypes = DuckDBType[] | Record<string, DuckDBType | undefined>;

export interface AnalyticsDb {
  readonly path: string;
  readonly connection: DuckDBConnection;
  run(sql: string, params?: SqlParams, types?: SqlTypes): Promise<void>;
  /** Rows as plain JS objects: BIGINT → bigint (cast counts to INTEGER/DOUBLE), TIMESTAMPTZ → Date. */
  all<T>(sql: string, params?: SqlParams, types?: SqlTypes): Promise<T[]>;
  appender(table: string): Promise<DuckDBAppender>;
  /** Runs `work` in one transaction; rolls back if it throws. Not re-entrant. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Another connection to the same database, for work that runs beside this connection's (each
   * connection runs one statement at a time; DuckDB runs statements of different connections
   * concurrently). Its TEMP tables are its own. `close()` on it closes only that connection.
   */
  fork(): Promise<AnalyticsDb>;
  close(): void;
}

export function analyticsDbPath(config: Pick<Config, 'ANALYTICS_DB_PATH' | 'dataDir'>): string {
  return config.ANALYTICS_DB_PATH ? path.resolve(config.ANALYTICS_DB_PATH) : path.join(config.dataDir, 'analytics.duckdb');
}

export interface OpenOptions {
  readOnly?: boolean;
}

export async function openAnalyticsDb(file: string, options: OpenOptions = {}): Promise<AnalyticsDb> {
  const inMemory = file === ':memory:';
  if (!inMemory && !options.readOnly) await mkdir(path.dirname(file), { recursive: true });
  if (!inMemory && options.readOnly && !(await exists(file))) {
    throw new AppError('not_found', `no analytics database at ${file} yet (run \`loopwise ingest\` first)`, { path: file });
  }
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, options.readOnly ? { access_mode: 'READ_ONLY' } : {});
  } catch (error) {
    throw describeOpenError(file, error);
  }
  return wrap(file, instance, await instance.connect(), () => {
    instance.closeSync();
  });
}

function wrap(file: string, instance: DuckDBInstance, connection: DuckDBConnection, closeInstance: () => void): AnalyticsDb {
  let inTransaction = false;
  const db: AnalyticsDb = {
    path: file,
    connection,
    async run(sql, params, types) {
      await connection.run(sql, params, types);
    },
    async all<T>(sql: string, params?: SqlParams, types?: SqlTypes) {
      const reader = await connection.runAndReadAll(sql, params, types);
      return reader.getRowObjectsJS() as T[];
    },
    appender: (table) => connection.createAppender(table),
    async transaction(work) {
      if (inTransaction) throw new Error('analytics transactions do not nest');
      inTransaction = true;
      await connection.run('BEGIN TRANSACTION');
      try {
        const result = await work();
        await connection.run('COMMIT');
        return result;
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        inTransaction = false;
      }
    },
    async fork() {
      return wrap(file, instance, await instance.connect(), () => undefined);
    },
    close() {
      connection.closeSync();
      closeInstance();
    },
  };
  return db;
}

function describeOpenError(file: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/Could not set lock on file/i.test(message)) {
    const pid = message.match(/PID (\d+)/)?.[1];
    return new AppError(
      'unavailable',
      `the analytics database ${file} is in use by another process${pid ? ` (PID ${pid})` : ''}. ` +
        'DuckDB lets one process at a time open it; wait for that process to finish (or stop it) and run this again.',
      { path: file, ...(pid ? { pid: Number(pid) } : {}) },
    );
  }
  if (/No such file|does not exist|Cannot open database/i.test(message)) {
    return new AppError('not_found', `no analytics database at ${file} yet (run \`loopwise ingest\` first)`, { path: file });
  }
  return new AppError('unavailable', `cannot open the analytics database ${file}: ${message}`, { path: file });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
