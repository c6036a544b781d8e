import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase, createPostgresDatabase, loadMigrations, migrate, type Database } from '../../src/platform/index.ts';
import { TEST_DATABASE_URL, testDbKind } from '../support/context.ts';

let db: Database;
let drop: () => Promise<void>;

beforeAll(async () => {
  if (testDbKind() === 'pglite') {
    db = await createPgliteDatabase({ schema: 'public' });
    drop = () => db.close();
    return;
  }
  const schema = `m_${Math.random().toString(16).slice(2, 10)}`;
  const admin = createPostgresDatabase({ url: TEST_DATABASE_URL, schema: 'public', poolSize: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  db = createPostgresDatabase({ url: TEST_DATABASE_URL, schema, poolSize: 2 });
  drop = async () => {
    await db.close();
    await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  };
});
afterAll(() => drop());

describe('migrations', () => {
  it('carry data forward: existing listings keep counting ticket references after 004', async () => {
    const all = await loadMigrations();
    expect(await migrate(db, all.filter((migration) => migration.version < 4))).toEqual([1, 2, 3]);
    await db.query(`INSERT INTO listings (id, name, ref_prefix, ticket_seq) VALUES ('old', 'Old', 'OLD', 41)`);
    expect(await migrate(db, all)).toEqual(all.filter((migration) => migration.version >= 4).map((migration) => migration.version));
    const { rows } = await db.query<{ n: number }>(`SELECT nextval(ref_sequence::regclass) AS n FROM listings WHERE id = 'old'`);
    expect(rows[0]!.n).toBe(42);
    // Re-running is a no-op.
    expect(await migrate(db, all)).toEqual([]);
  });
});
