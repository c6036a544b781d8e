import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The embedded default as `npm start` runs it: the real server process on PGlite with its jobs
 * in-process (the outbox relay every second, the analytics live source every 15 s). A user's first
 * minutes — a listing, keys, a conversation, the analytics catching up — with every request under
 * a deadline: in this layout one connection serves everything, so a job that waits on the
 * database inside its own transaction stops the whole api (it did, after the first relayed message).
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const ADMIN = `lw_test_admin_${Date.now()}`;
let server: ChildProcess;
let dataDir: string;
let baseUrl: string;
let output = '';

async function call(method: string, url: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    // A hung database shows as a request that never answers.
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-embedded-'));
  server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', ADMIN_API_KEY: ADMIN, LOG_LEVEL: 'warn', DATABASE_URL: '', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // The server announces its address in DATA_DIR/server.json once it listens.
  const deadline = Date.now() + 90_000;
  while (!baseUrl) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`the server did not start:\n${output}`);
    baseUrl = await readFile(path.join(dataDir, 'server.json'), 'utf8').then((text) => (JSON.parse(text) as { url: string }).url, () => '');
    if (!baseUrl) await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('the embedded default (npm start)', () => {
  it('serves a conversation and keeps answering while its jobs relay and fold it into the analytics store', async () => {
    expect((await call('POST', '/v1/admin/listings', ADMIN, { id: 'acme', name: 'Acme' })).status).toBe(201);
    const bot = (await call('POST', '/v1/keys', ADMIN, { listingId: 'acme', role: 'bot' })).body.token as string;
    const manager = (await call('POST', '/v1/keys', ADMIN, { listingId: 'acme', role: 'manager' })).body.token as string;
    const ticket = await call('POST', '/v1/tickets', bot, { customer: { identities: [{ kind: 'phone', value: '+14155550100' }] }, source: { app: 'web-widget', channel: 'website' } });
    expect(ticket.status).toBe(201);
    for (const text of ['my order is late', 'write me at jane@example.com', 'thanks']) {
      expect((await call('POST', `/v1/tickets/${ticket.body.id}/messages`, bot, { kind: 'text', text })).status).toBe(201);
    }
    // The relay runs every second, the live source every 15 s: requests keep answering meanwhile,
    // and the analytics store catches up with every event.
    const deadline = Date.now() + 40_000;
    let status: { lagEvents: number; lastAppliedEventId: number; newestEventId: number } | undefined;
    while (Date.now() < deadline) {
      expect((await call('GET', `/v1/tickets/${ticket.body.id}/messages`, manager)).body.items).toHaveLength(3);
      status = (await call('GET', '/v1/analytics/ingest-status', manager)).body;
      if (status && status.lagEvents === 0 && status.lastAppliedEventId > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(status).toMatchObject({ lagEvents: 0 });
    expect(status!.lastAppliedEventId).toBe(status!.newestEventId);
    // And the api still answers after the passes.
    expect((await call('POST', `/v1/tickets/${ticket.body.id}/messages`, bot, { kind: 'text', text: 'one more thing' })).status).toBe(201);
  });
});
