import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, newTicketBody, testDbKind, type TestContext } from '../support/context.ts';

let ctx: TestContext;
let listing: Awaited<ReturnType<TestContext['seedListing']>>;

beforeAll(async () => {
  ctx = await createTestContext();
  listing = await ctx.seedListing();
});
afterAll(() => ctx.close());

describe('request bodies', () => {
  it('takes an empty body sent as JSON as no body, and refuses one that is not JSON', async () => {
    const headers = { authorization: `Bearer ${listing.developerKey}`, 'content-type': 'application/json' };
    const rule = await ctx.request(listing.developerKey, 'POST', '/v1/rules', { name: 'Refunds', conditions: [{ type: 'keywords', terms: ['refund'] }], actions: [{ type: 'tag', tags: ['refund'] }] });
    expect(rule.status).toBe(201);
    // A bodiless action, with the content type many clients send anyway.
    const published = await ctx.app.inject({ method: 'POST', url: `/v1/rules/${rule.body.id}/publish`, headers, payload: '' });
    expect(published.statusCode).toBe(200);
    expect(JSON.parse(published.body)).toMatchObject({ status: 'published', publishedVersion: 1 });
    // A route that needs a body says which fields are missing, not that the JSON is malformed.
    const missing = await ctx.app.inject({ method: 'POST', url: '/v1/rules', headers, payload: '' });
    expect(missing.statusCode).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'validation_failed' });
    for (const payload of ['{"name": ', ' ', 'nope']) {
      const bad = await ctx.app.inject({ method: 'POST', url: '/v1/rules', headers, payload });
      expect(bad.statusCode, payload).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
      expect(JSON.parse(bad.body), payload).toMatchObject({ code: 'malformed_json' });
    }
    // The body limit still holds.
    const huge = await ctx.app.inject({ method: 'POST', url: '/v1/rules', headers, payload: `{"name": "${'x'.repeat(ctx.config.BODY_LIMIT_BYTES)}"}` });
    expect(huge.statusCode).toBe(413);
    expect(JSON.parse(huge.body)).toMatchObject({ code: 'payload_too_large' });
    // Prototype poisoning is still refused by the JSON parser.
    const poisoned = await ctx.app.inject({ method: 'POST', url: '/v1/rules', headers, payload: '{"__proto__": {"admin": true}, "name": "x"}' });
    expect(poisoned.statusCode).toBe(400);
  });
});

describe('authentication and roles', () => {
  it('answers 401 problem+json without a key, with an unknown key, and with a revoked key', async () => {
    const none = await ctx.app.inject({ method: 'GET', url: '/v1/tickets' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(none.body)).toMatchObject({ code: 'unauthorized', status: 401, type: '/problems/unauthorized', instance: none.headers['x-request-id'] });
    expect((await ctx.request('lw_0000000000000000_' + 'A'.repeat(43), 'GET', '/v1/tickets')).status).toBe(401);

    const { key, token } = await ctx.services.keys.create({ listingId: listing.listingId, role: 'manager' });
    expect((await ctx.request(token, 'GET', '/v1/tickets')).status).toBe(200);
    const revoked = await ctx.request(ctx.adminKey, 'POST', `/v1/keys/${key.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect((await ctx.request(token, 'GET', '/v1/tickets')).status).toBe(401);
    expect((await ctx.request(ctx.adminKey, 'POST', `/v1/keys/${key.id}/revoke`)).body.code).toBe('key_revoked');
  });

  it('stores only a hash of each key and shows the key once', async () => {
    const created = await ctx.request(ctx.adminKey, 'POST', '/v1/keys', { listingId: listing.listingId, role: 'developer', name: 'rules ci' });
    expect(created.status).toBe(201);
    // The secret is base64url, so it may itself contain '_': it is everything after `lw_<id>_`.
    const secret: string = created.body.token.slice(`lw_${created.body.key.id}_`.length);
    expect(secret).toHaveLength(43);
    const stored = await ctx.db.query<{ secret_hash: string }>('SELECT secret_hash FROM api_keys WHERE id = $1', [created.body.key.id]);
    expect(stored.rows[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.rows[0]!.secret_hash).not.toContain(secret);
    const listed = await ctx.request(listing.managerKey, 'GET', '/v1/keys');
    expect(JSON.stringify(listed.body)).not.toContain(secret);
  });

  it('enforces roles', async () => {
    const developerCreates = await ctx.request(listing.developerKey, 'POST', '/v1/tickets', newTicketBody());
    expect(developerCreates.status).toBe(403);
    expect(developerCreates.body.code).toBe('forbidden');
    expect((await ctx.request(listing.botKey, 'POST', '/v1/tickets/pull')).status).toBe(403);
    expect((await ctx.request(listing.managerKey, 'POST', '/v1/admin/listings', { id: 'x', name: 'x' })).status).toBe(403);
    expect((await ctx.request(listing.managerKey, 'POST', '/v1/keys', { role: 'admin' })).status).toBe(403);
    expect(await ctx.db.query('SELECT 1 FROM listings WHERE id = $1', ['x']).then((r) => r.rowCount)).toBe(0);
  });

  it('rate-limits per key with a 429 problem', async () => {
    const { token } = await ctx.services.keys.create({ listingId: listing.listingId, role: 'manager', rateLimitPerMinute: 3 });
    const statuses = [];
    for (let index = 0; index < 5; index++) statuses.push((await ctx.request(token, 'GET', '/v1/tickets/count')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await ctx.request(token, 'GET', '/v1/tickets/count');
    expect(limited.body.code).toBe('rate_limited');
    // Other keys are unaffected.
    expect((await ctx.request(listing.managerKey, 'GET', '/v1/tickets/count')).status).toBe(200);
  });
});

describe('health and documents', () => {
  it('serves liveness, readiness, the problem catalog and the OpenAPI document without a key', async () => {
    expect((await ctx.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await ctx.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ok', checks: { database: 'ok' } });
    expect((await ctx.app.inject({ url: '/problems/ticket_not_held' })).json()).toMatchObject({ status: 409 });
    const openapi = (await ctx.app.inject({ url: '/openapi.json' })).json();
    expect(openapi.openapi).toBe('3.1.0');
    const operations = Object.values(openapi.paths as Record<string, Record<string, { operationId?: string; tags?: string[] }>>).flatMap((path) => Object.values(path));
    expect(operations.length).toBeGreaterThan(20);
    for (const operation of operations) {
      expect(operation.operationId).toBeTruthy();
      expect(operation.tags?.length).toBeGreaterThan(0);
    }
  });
});

describe('error mapper', () => {
  it('never leaks an internal error message: a broken database answers a generic 500 with an error id', async () => {
    const broken = await createTestContext();
    try {
      const { managerKey } = await broken.seedListing();
      // Simulate a driver failure the code did not anticipate.
      await broken.db.exec('ALTER TABLE tickets RENAME TO tickets_gone');
      const response = await broken.request(managerKey, 'GET', '/v1/tickets');
      expect(response.status).toBe(500);
      expect(response.body.code).toBe('internal');
      expect(response.body.instance).toBe(response.headers['x-request-id']);
      const text = JSON.stringify(response.body);
      expect(text).not.toMatch(/tickets|relation|does not exist|SELECT/i);
    } finally {
      await broken.db.exec('ALTER TABLE tickets_gone RENAME TO tickets').catch(() => undefined);
      await broken.close();
    }
  });

  it('reports readiness failure when the database is gone', async () => {
    if (testDbKind() !== 'postgres') return;
    const down = await createTestContext();
    await down.db.close();
    const response = await down.app.inject({ url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json().checks.database).toBe('failing');
    await down.app.close();
  });
});

describe('runtime figures', () => {
  it('gives an admin the process GC pauses, event-loop delay and heap, cumulative, and nobody else', async () => {
    const first = await ctx.request(ctx.adminKey, 'GET', '/v1/admin/runtime');
    expect(first.status).toBe(200);
    // Short-lived garbage well past the young generation's size: several scavenges.
    let kept = 0;
    for (let round = 0; round < 200; round++) kept += Array.from({ length: 20_000 }, (_, i) => ({ i, text: `m${i}` })).length;
    expect(kept).toBe(4_000_000);
    await new Promise((resolve) => setTimeout(resolve, 20)); // GC entries are delivered after the pause
    const second = await ctx.request(ctx.adminKey, 'GET', '/v1/admin/runtime');
    const { scavenge } = second.body.gc;
    expect(scavenge.count).toBeGreaterThan(first.body.gc.scavenge.count);
    expect(scavenge.totalMs).toBeGreaterThan(first.body.gc.scavenge.totalMs);
    expect(scavenge.buckets.reduce((sum: number, n: number) => sum + n, 0)).toBe(scavenge.count);
    expect(second.body.heap.usedBytes).toBeGreaterThan(0);
    expect(second.body.uptimeSeconds).toBeGreaterThan(first.body.uptimeSeconds);
    expect(second.body.eventLoopDelayMs.max).toBeGreaterThanOrEqual(second.body.eventLoopDelayMs.p50);
    // The loop ran the requests in between (active grew) and waited for them (idle grew).
    expect(second.body.eventLoop.activeMs).toBeGreaterThan(first.body.eventLoop.activeMs);
    expect(second.body.eventLoop.idleMs).toBeGreaterThanOrEqual(first.body.eventLoop.idleMs);
    expect((await ctx.request(listing.managerKey, 'GET', '/v1/admin/runtime')).status).toBe(403);
    expect((await ctx.app.inject({ url: '/v1/admin/runtime' })).statusCode).toBe(401);
  });
});
