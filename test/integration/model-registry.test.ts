import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../support/context.ts';
import { withLoopProbe } from '../support/event-loop.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const metadata = (extra: Record<string, unknown> = {}) => ({ kind: 'logistic', featureSet: 'fs-test', classes: ['1', '2', '3', '4', '5'], ...extra });
const bytesOf = (text: string) => new TextEncoder().encode(text);
const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('model registry', () => {
  it('numbers versions per listing and target, keeps the artifact bytes and metadata exactly', async () => {
    const { listingId } = await ctx.seedListing();
    const registry = ctx.services.models;
    const first = await registry.save(listingId, 'satisfaction', metadata({ auc: 0.71 }), bytesOf('weights-1'));
    const second = await registry.save(listingId, 'satisfaction', metadata({ auc: 0.74 }), bytesOf('weights-2'));
    const other = await registry.save(listingId, 'resolved', metadata(), bytesOf('r1'));
    expect([first.version, second.version, other.version]).toEqual([1, 2, 1]);
    expect(second).toMatchObject({ listingId, target: 'satisfaction', kind: 'logistic', featureSet: 'fs-test', sizeBytes: 9, promoted: false });

    const artifact = await registry.get(listingId, 'satisfaction', 1);
    expect(textOf(artifact.bytes)).toBe('weights-1');
    expect(artifact.version.metadata).toEqual(metadata({ auc: 0.71 }));
    expect((await registry.list(listingId)).map((v) => `${v.target}:${v.version}`)).toEqual(['resolved:1', 'satisfaction:2', 'satisfaction:1']);
    expect((await registry.list(listingId, 'satisfaction')).length).toBe(2);
  });

  it('gives concurrent saves consecutive versions', async () => {
    const { listingId } = await ctx.seedListing();
    const saved = await Promise.all(Array.from({ length: 6 }, (_, i) => ctx.services.models.save(listingId, 'converted', metadata(), bytesOf(`w${i}`))));
    expect(saved.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('promotes, serves the promoted artifact, and rolls back to the version promoted before', async () => {
    const { listingId } = await ctx.seedListing();
    const registry = ctx.services.models;
    expect(await registry.promoted(listingId, 'satisfaction')).toBeUndefined();
    await expect(registry.rollback(listingId, 'satisfaction')).rejects.toMatchObject({ code: 'no_promoted_model' });

    await registry.save(listingId, 'satisfaction', metadata(), bytesOf('v1'), { promote: true });
    await registry.save(listingId, 'satisfaction', metadata(), bytesOf('v2'));
    expect(await registry.promotedVersion(listingId, 'satisfaction')).toBe(1);
    await expect(registry.rollback(listingId, 'satisfaction')).rejects.toMatchObject({ code: 'conflict' });

    const promoted = await registry.promote(listingId, 'satisfaction', 2, { role: 'manager' });
    expect(promoted).toMatchObject({ version: 2, promoted: true });
    expect(textOf((await registry.promoted(listingId, 'satisfaction'))!.bytes)).toBe('v2');
    expect((await registry.list(listingId, 'satisfaction')).map((v) => [v.version, v.promoted])).toEqual([
      [2, true],
      [1, false],
    ]);

    expect((await registry.rollback(listingId, 'satisfaction')).version).toBe(1);
    expect(textOf((await registry.promoted(listingId, 'satisfaction'))!.bytes)).toBe('v1');
    // A rollback is a promotion too: rolling back again returns to where the first one started.
    expect((await registry.rollback(listingId, 'satisfaction')).version).toBe(2);

    const names = (await ctx.db.query<{ name: string; payload: { version: number; reason: string } }>(
      `SELECT name, payload FROM events WHERE listing_id = $1 AND aggregate_type = 'model' ORDER BY id`,
      [listingId],
    )).rows.map((row) => `${row.name}:${row.payload.version}${row.name === 'model.promoted' ? `:${row.payload.reason}` : ''}`);
    expect(names).toEqual(['model.version_saved:1', 'model.promoted:1:promote', 'model.version_saved:2', 'model.promoted:2:promote', 'model.promoted:1:rollback', 'model.promoted:2:rollback']);
  });

  it('stores a large artifact in pieces and reads it back exactly, without holding the event loop', async () => {
    const { listingId } = await ctx.seedListing();
    const registry = ctx.services.models;
    // 32 MiB, the size of a reply model over a large history. In one statement its read was one
    // synchronous parse of the whole value: ~170 ms on PostgreSQL, ~2.6 s on PGlite.
    const bytes = new Uint8Array(32 * 2 ** 20 + 12_345);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i / 4096) & 255;
    bytes[bytes.length - 1] = 7;
    const saved = await registry.save(listingId, 'reply', metadata({ kind: 'reply-dual-encoder' }), bytes, { promote: true });
    expect(saved.sizeBytes).toBe(bytes.length);
    const pieces = await ctx.db.query<{ n: number; largest: number }>(
      'SELECT count(*)::int AS n, max(length(bytes))::int AS largest FROM model_artifact_chunks WHERE listing_id = $1',
      [listingId],
    );
    expect(pieces.rows[0]).toEqual({ n: 65, largest: 512 * 1024 });

    const { result: read, longestGapMs } = await withLoopProbe(() => registry.promoted(listingId, 'reply'));
    expect(read!.version.version).toBe(1);
    expect(Buffer.compare(Buffer.from(read!.bytes), Buffer.from(bytes))).toBe(0);
    expect(longestGapMs).toBeLessThan(120);

    // A missing piece is an error, not a silently short model.
    await ctx.db.query(`DELETE FROM model_artifact_chunks WHERE listing_id = $1 AND seq = 40`, [listingId]);
    await expect(registry.get(listingId, 'reply', 1)).rejects.toThrow(/piece 40 missing/);
    // An empty artifact has one empty piece.
    const empty = await registry.save(listingId, 'resolved', metadata(), new Uint8Array(0));
    expect((await registry.get(listingId, 'resolved', empty.version)).bytes.length).toBe(0);
  });

  it('refuses unknown versions, bad target names and other listings', async () => {
    const a = await ctx.seedListing();
    const b = await ctx.seedListing();
    const registry = ctx.services.models;
    await registry.save(a.listingId, 'satisfaction', metadata(), bytesOf('a'));
    await expect(registry.get(b.listingId, 'satisfaction', 1)).rejects.toMatchObject({ code: 'not_found' });
    await expect(registry.promote(b.listingId, 'satisfaction', 1)).rejects.toMatchObject({ code: 'not_found' });
    await expect(registry.promote(a.listingId, 'satisfaction', 9)).rejects.toMatchObject({ code: 'not_found' });
    await expect(registry.save(a.listingId, 'Bad Target!', metadata(), bytesOf('x'))).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(registry.save('no-such-listing', 'satisfaction', metadata(), bytesOf('x'))).rejects.toMatchObject({ code: 'not_found' });
    expect(await registry.list(b.listingId)).toEqual([]);
  });
});
