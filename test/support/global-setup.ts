import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createPgliteDatabase, dumpPglite, migrate } from '../../src/platform/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteDump: string;
  }
}

/**
 * PGlite's initdb takes ~4 s; doing it once and letting every test file start from a dump of the
 * migrated database takes that to well under a second per file.
 */
export default async function setup(project: TestProject) {
  if (project.name !== 'pglite' && project.name !== 'browser') return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-pglite-'));
  const dataDir = path.join(dir, 'db');
  const db = await createPgliteDatabase({ dataDir, schema: 'public' });
  await migrate(db);
  await db.close();
  const dump = await dumpPglite(dataDir);
  const file = path.join(dir, 'migrated.tar');
  await writeFile(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgliteDump', file);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
