import { createLogger, loadConfigFromEnv } from './platform/index.ts';
import { openRuntime } from './runtime.ts';

/** The job worker. With REDIS_URL it consumes BullMQ; embedded, the api process runs jobs itself. */
async function main() {
  const config = loadConfigFromEnv();
  const logger = createLogger(config);
  if (!config.REDIS_URL) {
    logger.error('REDIS_URL is not set: embedded mode runs jobs inside `npm start`; there is nothing for a worker to do');
    process.exit(2);
  }
  const runtime = await openRuntime(config, logger, 'worker');
  await runtime.consumer!.start();
  logger.info('worker started');
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'worker stopping');
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  createLogger({ LOG_LEVEL: 'info' }).fatal({ err: error }, 'worker failed to start');
  process.exit(1);
});
