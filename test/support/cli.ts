import { vi } from 'vitest';
import { runCli } from '../../src/cli/index.ts';
import { createCoreServices } from '../../src/core.ts';
import { migrate, openDatabase, parseConfig } from '../../src/platform/index.ts';
import { openTestDatabase, TEST_DATABASE_URL, testDbKind } from './context.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npx loopwise ARGS` in-process and captures what it prints. */
export async function runCliCaptured(...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await runCli(['node', 'loopwise', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/**
 * The ticket database a CLI run uses, holding one listing: a fresh PostgreSQL schema on the
 * postgres project, the CLI's own PGlite in `dataDir` on the pglite project (closed again, since
 * PGlite is one process's and the CLI opens it next). `env` configures the CLI for it.
 */
export async function cliTicketDatabase(dataDir: string, listing: { id: string; name: string }): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (testDbKind() === 'postgres') {
    const opened = await openTestDatabase();
    const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: opened.schema, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    await createCoreServices({ db: opened.db, config: parseConfig(env) }).listings.create(listing);
    return { env, drop: opened.drop };
  }
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  const db = await openDatabase(parseConfig(env));
  await migrate(db);
  await createCoreServices({ db, config: parseConfig(env) }).listings.create(listing);
  await db.close();
  return { env, drop: async () => undefined };
}
