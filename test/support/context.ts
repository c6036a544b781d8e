import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { inject } from 'vitest';
import { buildApp } from '../../src/api/index.ts';
import { createCoreServices, type CoreServices } from '../../src/core.ts';
import { createLocalEventBus, createOutboxRelay, type EventBus } from '../../src/jobs/index.ts';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  migrate,
  parseConfig,
  type Config,
  type Database,
} from '../../src/platform/index.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const testDbKind = (): 'postgres' | 'pglite' => (process.env.LOOPWISE_TEST_DB === 'pglite' ? 'pglite' : 'postgres');

export interface TestResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

export interface TestContext {
  db: Database;
  config: Config;
  services: CoreServices;
  app: FastifyInstance;
  events: EventBus;
  /** Runs the outbox relay once, as the repeating job would. */
  relayOutbox(): Promise<{ relayed: number }>;
  adminKey: string;
  dataDir: string;
  request<T = any>(key: string, method: InjectOptions['method'], url: string, payload?: unknown, headers?: Record<string, string>): Promise<TestResponse<T>>;
  seedListing(id?: string): Promise<{ listingId: string; managerKey: string; botKey: string; developerKey: string }>;
  seedCsr(listingId: string, options?: { presence?: 'online' | 'offline' | 'away'; capacity?: number; skills?: string[]; name?: string }): Promise<{ csrId: string; key: string }>;
  close(): Promise<void>;
}

/** Opens a fresh database (a new schema on the server, or a new PGlite from the migrated dump). */
export async function openTestDatabase(): Promise<{ db: Database; schema: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  if (testDbKind() === 'pglite') {
    const dump = await readFile(inject('pgliteDump'));
    const db = await createPgliteDatabase({ schema: 'public', loadDataDir: new Blob([dump]) });
    await migrate(db);
    return { db, schema: 'public', drop: () => db.close() };
  }
  const admin = createPostgresDatabase({ url: TEST_DATABASE_URL, schema: 'public', poolSize: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const db = createPostgresDatabase({ url: TEST_DATABASE_URL, schema, poolSize: 60 });
  await migrate(db);
  return {
    db,
    schema,
    async drop() {
      await db.close();
      const cleanup = createPostgresDatabase({ url: TEST_DATABASE_URL, schema: 'public', poolSize: 1 });
      await cleanup.exec(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.close();
    },
  };
}

export async function createTestContext(env: Record<string, string> = {}): Promise<TestContext> {
  const { db, schema, drop } = await openTestDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-test-'));
  const adminKey = `test-admin-${randomBytes(16).toString('hex')}`;
  const config = parseConfig({
    DATA_DIR: dataDir,
    DATABASE_SCHEMA: schema,
    ADMIN_API_KEY: adminKey,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '100000',
    ...(testDbKind() === 'postgres' ? { DATABASE_URL: TEST_DATABASE_URL } : {}),
    ...env,
  });
  const services = createCoreServices({ db, config });
  const events = createLocalEventBus();
  const relayOutbox = createOutboxRelay({ db, publisher: events });
  const app = await buildApp({ config, services, db, events, readiness: [{ name: 'database', check: () => db.ping() }] });

  const request: TestContext['request'] = async (key, method, url, payload, headers = {}) => {
    const response = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}`, ...headers },
      ...(payload === undefined ? {} : typeof payload === 'string' || Buffer.isBuffer(payload) ? { payload } : { payload: payload as object }),
    });
    const text = response.body;
    let body: unknown = text;
    if ((response.headers['content-type'] ?? '').toString().includes('json') && text.length > 0) body = JSON.parse(text);
    return { status: response.statusCode, body: body as any, headers: response.headers };
  };

  let listingCounter = 0;
  const context: TestContext = {
    db,
    config,
    services,
    app,
    events,
    relayOutbox: () => relayOutbox({}),
    adminKey,
    dataDir,
    request,
    async seedListing(id) {
      const listingId = id ?? `l${randomBytes(4).toString('hex')}${listingCounter++}`;
      await services.listings.create({ id: listingId, name: `Listing ${listingId}` });
      const managerKey = (await services.keys.create({ listingId, role: 'manager' })).token;
      const botKey = (await services.keys.create({ listingId, role: 'bot' })).token;
      const developerKey = (await services.keys.create({ listingId, role: 'developer' })).token;
      return { listingId, managerKey, botKey, developerKey };
    },
    async seedCsr(listingId, options = {}) {
      const csr = await services.csrs.create(listingId, {
        name: options.name ?? `CSR ${randomBytes(3).toString('hex')}`,
        presence: options.presence ?? 'online',
        capacity: options.capacity ?? 5,
        skills: options.skills ?? [],
      });
      const key = (await services.keys.create({ listingId, role: 'csr', csrId: csr.id })).token;
      return { csrId: csr.id, key };
    },
    async close() {
      await app.close();
      await services.suggest.close();
      await drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return context;
}

/** A customer payload by phone number, unique per call unless a number is given. */
export const customerByPhone = (phone = `+1415${Math.floor(1_000_000 + Math.random() * 8_999_999)}`) => ({
  identities: [{ kind: 'phone' as const, value: phone }],
});

export const newTicketBody = (overrides: Record<string, unknown> = {}) => ({
  customer: customerByPhone(),
  source: { app: 'web-widget', channel: 'website' },
  ...overrides,
});
