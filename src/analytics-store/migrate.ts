import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnalyticsDb } from './duckdb.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Numbered DuckDB migrations (`migrations/NNN_name.sql`), each applied once in its own
 * transaction and recorded in `schema_migrations`. Re-runnable: only the writing process ever
 * opens the file, so no cross-process lock is needed.
 */
export async function migrateAnalytics(db: AnalyticsDb, dir = MIGRATIONS_DIR): Promise<number[]> {
  await db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`);
  const done = new Set((await db.all<{ version: number }>('SELECT version FROM schema_migrations')).map((row) => row.version));
  const files = (await readdir(dir)).filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file)).sort();
  const applied: number[] = [];
  for (const file of files) {
    const version = Number(file.slice(0, 3));
    if (done.has(version)) continue;
    const sql = await readFile(path.join(dir, file), 'utf8');
    await db.transaction(async () => {
      await db.run(sql);
      await db.run('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file.replace(/\.sql$/, '')]);
    });
    applied.push(version);
  }
  return applied;
}
