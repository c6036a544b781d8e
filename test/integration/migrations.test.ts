import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase, createPostgresDatabase, loadMigrations, migrate, type Database } from '../../src/platform/index.ts';
import { TEST_DATABASE_URL, testDbKind } from '../support/context.ts';

let db: Database;
let drop: () => Promise<void>;

/** An empty database of the project's kind: a new PGlite, or a new schema on the server. */
async function emptyDatabase(): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (testDbKind() === 'pglite') {
    const fresh = await createPgliteDatabase({ schema: 'public' });
    return { db: fresh, drop: () => fresh.close() };
  }
  const schema = `m_${Math.random().toString(16).slice(2, 10)}`;
  const admin = createPostgresDatabase({ url: TEST_DATABASE_URL, schema: 'public', poolSize: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const fresh = createPostgresDatabase({ url: TEST_DATABASE_URL, schema, poolSize: 2 });
  return {
    db: fresh,
    async drop() {
      await fresh.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

beforeAll(async () => {
  ({ db, drop } = await emptyDatabase());
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

  it('carry data forward: model artifacts stored whole are split into pieces by 011', async () => {
    const all = await loadMigrations();
    const { db: before, drop: dropBefore } = await emptyDatabase();
    try {
      await migrate(before, all.filter((migration) => migration.version < 11));
      await before.query(`INSERT INTO listings (id, name, ref_prefix, ref_sequence) VALUES ('models', 'Models', 'MOD', 'no_such_sequence')`);
      const big = Buffer.alloc(1_200_000, 3);
      big[1_199_999] = 9;
      for (const [version, artifact] of [[1, big], [2, Buffer.from('small')], [3, Buffer.alloc(0)]] as const) {
        await before.query(
          `INSERT INTO model_versions (listing_id, target, version, kind, feature_set, metadata, artifact, size_bytes) VALUES ('models', 'reply', $1, 'k', 'fs', '{}', $2, $3)`,
          [version, artifact, artifact.length],
        );
      }
      await migrate(before, all);
      const { rows } = await before.query<{ version: number; seq: number; size: number; last: number | null }>(
        `SELECT version, seq, length(bytes)::int AS size, get_byte(bytes, length(bytes) - 1) AS last
           FROM model_artifact_chunks WHERE length(bytes) > 0
          UNION ALL SELECT version, seq, 0, NULL FROM model_artifact_chunks WHERE length(bytes) = 0
          ORDER BY version, seq`,
      );
      expect(rows).toEqual([
        { version: 1, seq: 0, size: 524288, last: 3 },
        { version: 1, seq: 1, size: 524288, last: 3 },
        { version: 1, seq: 2, size: 1_200_000 - 2 * 524288, last: 9 },
        { version: 2, seq: 0, size: 5, last: 108 },
        { version: 3, seq: 0, size: 0, last: null },
      ]);
    } finally {
      await dropBefore();
    }
  });
});
