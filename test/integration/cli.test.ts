import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCliCaptured, type CliRun } from '../support/cli.ts';
import { createTestContext, TEST_DATABASE_URL, testDbKind, type TestContext } from '../support/context.ts';

let ctx: TestContext;
const savedEnv = { ...process.env };

beforeAll(async () => {
  // The CLI is another process as far as the API's key cache is concerned: a revocation there
  // reaches a running API within API_KEY_CACHE_SECONDS. Zero here, to observe it at once.
  ctx = await createTestContext({ API_KEY_CACHE_SECONDS: '0' });
});
afterAll(() => ctx.close());
afterEach(() => {
  process.env = { ...savedEnv };
  vi.restoreAllMocks();
});

async function cli(...args: string[]): Promise<CliRun> {
  return runCliCaptured(...args);
}

describe('npx loopwise', () => {
  it('creates listings, CSRs and keys in the configured database, and the key works', async () => {
    if (testDbKind() !== 'postgres') return;
    Object.assign(process.env, { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: ctx.config.DATABASE_SCHEMA, DATA_DIR: ctx.dataDir, LOG_LEVEL: 'silent' });
    const listing = await cli('listings', 'create', '--id', 'cli-acme', '--name', 'CLI Acme', '--json');
    expect(listing.code).toBe(0);
    expect(JSON.parse(listing.stdout)).toMatchObject({ id: 'cli-acme', refPrefix: 'CLIACM' });

    const csr = JSON.parse((await cli('csrs', 'create', '--listing', 'cli-acme', '--name', 'Alice', '--capacity', '2', '--skills', 'billing, returns', '--presence', 'online', '--json')).stdout);
    expect(csr).toMatchObject({ capacity: 2, skills: ['billing', 'returns'], presence: 'online' });

    const created = JSON.parse((await cli('keys', 'create', '--listing', 'cli-acme', '--role', 'csr', '--csr', csr.id, '--json')).stdout);
    expect(created.token).toMatch(/^lw_[0-9a-f]{16}_/);
    const me = await ctx.request(created.token, 'GET', `/v1/csrs/${csr.id}`);
    expect(me.status).toBe(200);

    const listed = await cli('keys', 'list', '--listing', 'cli-acme');
    expect(listed.stdout).toContain(created.key.id);
    expect(listed.stdout).not.toContain(created.token);
    expect((await cli('keys', 'revoke', created.key.id)).code).toBe(0);
    expect((await ctx.request(created.token, 'GET', `/v1/csrs/${csr.id}`)).status).toBe(401);
  });

  it('explains bad input and refusals with exit codes', async () => {
    if (testDbKind() !== 'postgres') return;
    Object.assign(process.env, { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: ctx.config.DATABASE_SCHEMA, DATA_DIR: ctx.dataDir, LOG_LEVEL: 'silent' });
    const bad = await cli('listings', 'create', '--id', 'Not Valid', '--name', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/id:/);
    await cli('listings', 'create', '--id', 'twice', '--name', 'x');
    const twice = await cli('listings', 'create', '--id', 'twice', '--name', 'x');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('listing_exists');
    const noListing = await cli('keys', 'create', '--role', 'bot');
    expect(noListing.code).toBe(2);
    const badConfig = { ...process.env, PORT: 'eighty' };
    process.env = badConfig;
    const config = await cli('listings', 'list');
    expect(config.code).toBe(1);
    expect(config.stderr).toContain('PORT');
  });

  it('hands admin commands to a running embedded server instead of opening its database files', async () => {
    if (testDbKind() !== 'pglite') return;
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = ctx.app.server.address() as AddressInfo;
    await writeFile(path.join(ctx.dataDir, 'server.json'), JSON.stringify({ pid: process.pid, url: `http://127.0.0.1:${port}` }));
    Object.assign(process.env, { DATA_DIR: ctx.dataDir, ADMIN_API_KEY: ctx.adminKey, LOG_LEVEL: 'silent' });
    delete process.env.DATABASE_URL;
    const created = await cli('listings', 'create', '--id', 'via-server', '--name', 'Via Server', '--json');
    expect(created.code).toBe(0);
    // The listing is in the server's (in-memory) database, which the CLI never opened.
    expect((await ctx.db.query('SELECT 1 FROM listings WHERE id = $1', ['via-server'])).rowCount).toBe(1);
    const duplicate = await cli('listings', 'create', '--id', 'via-server', '--name', 'again');
    expect(duplicate.stderr).toContain('listing_exists');
  });
});
