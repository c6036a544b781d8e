import pg from 'pg';
import { withRetries, type Database, type QueryOptions } from './database.ts';

const INT8_OID = 20;

// Counts and sequences fit comfortably in a double; strings would leak into every caller.
const types = {
  getTypeParser: (oid: number, format?: string) =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text'),
};

export interface PostgresOptions {
  url: string;
  schema: string;
  poolSize: number;
  applicationName?: string;
}

export function createPostgresDatabase(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    application_name: options.applicationName ?? 'loopwise',
    // Every connection sees the configured schema first, so tests and tenants of a shared server
    // can each have their own without qualifying table names.
    options: `-c search_path=${options.schema},public`,
    types,
  });
  // An idle client losing its server must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);

  const run = async <Row>(target: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[], options?: QueryOptions) => {
    const values = params as unknown[] | undefined;
    const result = await (options?.prepare ? target.query({ name: options.prepare, text: sql, values }) : target.query(sql, values));
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  };

  return {
    kind: 'postgres',
    query: (sql, params, options) => run(pool, sql, params, options),
    async exec(sql) {
      await pool.query(sql);
    },
    transaction(work) {
      return withRetries(async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const result = await work({
            query: (sql, params, options) => run(client, sql, params, options),
            exec: async (sql) => {
              await client.query(sql);
            },
          });
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      });
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
