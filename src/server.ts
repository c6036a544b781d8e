import { mkdir, rm, writeFile } from 'node:fs/promises';
import { buildApp } from './api/index.ts';
import { createServerIngestService } from './ingest/index.ts';
import { createLogger, loadConfigFromEnv, type Logger } from './platform/index.ts';
import { ensureBootstrapAdminKey, openRuntime, serverInfoFile } from './runtime.ts';

async function main() {
  const config = loadConfigFromEnv();
  const logger: Logger = createLogger(config);
  const runtime = await openRuntime(config, logger, 'api');
  const bootstrap = await ensureBootstrapAdminKey(runtime);

  const app = await buildApp({
    config,
    services: runtime.services,
    db: runtime.db,
    events: runtime.events,
    logger,
    ...(runtime.redis ? { redis: runtime.redis } : {}),
    // Embedded, this process owns the analytics store, so `loopwise ingest` hands its files here.
    ...(runtime.analytics ? { serverIngest: createServerIngestService({ analytics: runtime.analytics, rawTextListings: config.INGEST_RAW_TEXT_LISTINGS }) } : {}),
    // Rule replay reads past conversations from the same store (POST /v1/rules/replay).
    ...(runtime.analytics ? { analytics: runtime.analytics } : {}),
    training: runtime.training,
    readiness: [
      { name: 'database', check: () => runtime.db.ping() },
      ...(runtime.redis ? [{ name: 'redis', check: async () => void (await runtime.redis!.ping()) }] : []),
    ],
  });
  await runtime.consumer?.start();
  const address = await app.listen({ port: config.PORT, host: config.HOST });
  const embedded = !config.DATABASE_URL;
  // Written when the CLI must talk to this process instead of opening files it holds: PGlite's
  // (embedded), or the analytics DuckDB file (jobs run here when there is no Redis).
  const announce = embedded || Boolean(runtime.analytics);
  if (announce) {
    // With a Postgres server configured nothing else may have created DATA_DIR yet.
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(serverInfoFile(config), JSON.stringify({ pid: process.pid, url: address }));
  }

  logger.info(
    {
      api: address,
      docs: `${address}/docs`,
      openapi: `${address}/openapi.json`,
      database: embedded ? 'embedded PGlite' : 'postgres',
      jobs: config.REDIS_URL ? 'BullMQ (run `npm run worker`)' : 'in-process',
    },
    'Loopwise is listening',
  );
  const adminHint = bootstrap
    ? `Admin API key: ${bootstrap.file}${bootstrap.created ? ' (created now)' : ''} — use it as "Authorization: Bearer $(cat ${bootstrap.file})"`
    : 'Admin API key: the ADMIN_API_KEY you configured';
  // The human summary goes to stderr so stdout stays pure JSON logs.
  process.stderr.write(`\nLoopwise API   ${address}\nAPI docs       ${address}/docs\n${adminHint}\n\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_MS);
    force.unref();
    try {
      await app.close();
      await runtime.close();
      if (announce) await rm(serverInfoFile(config), { force: true });
    } finally {
      clearTimeout(force);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  createLogger({ LOG_LEVEL: 'info' }).fatal({ err: error }, 'failed to start');
  process.exit(1);
});
