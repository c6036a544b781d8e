export { parseConfig, loadConfigFromEnv, configSchema, ConfigError, type Config } from './config.ts';
export { createLogger, loggerOptions, type Logger } from './logger.ts';
export { AppError, errorCatalog, notFound, conflict, forbidden, invalidInput, type ErrorCode } from './errors.ts';
export * from './db/index.ts';
export { newId, isUuid, randomToken } from './ids.ts';
export { seededRandom, shuffleInPlace } from './random.ts';
export { createBoundedCache, type BoundedCache } from './bounded-cache.ts';
export { systemClock, type Clock } from './clock.ts';
export { apiSchemas } from './api-schemas.ts';
