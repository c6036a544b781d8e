/**
 * The narrow database surface every store uses. Two drivers implement it: node-postgres (a pool
 * against a real server) and PGlite (embedded, single connection). Stores write plain
 * PostgreSQL; the one schema and migration set serve both.
 */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Prepares the statement once per connection under this name, then only binds and executes it:
   * PostgreSQL skips parsing and planning, which for a multi-CTE statement costs more than running
   * it. For hot statements with a constant text; list the RETURNING columns rather than `*`, since
   * a prepared `*` fails once a migration adds a column. PGlite ignores it.
   */
  prepare?: string;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<Row>>;
}

export interface Transaction extends Queryable {
  /** Runs multi-statement SQL without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `work` in one transaction; retried on serialization failures and deadlocks. */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Runs multi-statement SQL (migrations). */
  exec(sql: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** SQLSTATEs worth retrying a whole transaction for. */
const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && RETRYABLE.has(String((error as { code?: unknown }).code));
}

/** PostgreSQL unique_violation, optionally on a named constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: actual } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && (constraint === undefined || actual === constraint);
}

export async function withRetries<T>(attempt: () => Promise<T>, maxAttempts = 4): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await attempt();
    } catch (error) {
      if (tryNumber >= maxAttempts || !isRetryable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2 ** tryNumber + Math.random() * 5));
    }
  }
}
