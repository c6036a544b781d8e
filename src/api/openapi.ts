import { createCoreServices } from '../core.ts';
import { AppError, parseConfig, type Database } from '../platform/index.ts';
import { buildApp } from './app.ts';

/** A database that refuses every call: generating the document must not touch any store. */
const inertDatabase: Database = {
  kind: 'postgres',
  query: () => Promise.reject(new AppError('unavailable', 'no database while generating the OpenAPI document')),
  transaction: () => Promise.reject(new AppError('unavailable', 'no database while generating the OpenAPI document')),
  exec: () => Promise.reject(new AppError('unavailable', 'no database while generating the OpenAPI document')),
  ping: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** The OpenAPI 3.1 document, as served at /openapi.json, built from the route schemas alone. */
export async function generateOpenApiDocument(): Promise<Record<string, unknown>> {
  const config = parseConfig({ LOG_LEVEL: 'silent', DATA_DIR: 'data/local' });
  const app = await buildApp({ config, db: inertDatabase, services: createCoreServices({ db: inertDatabase, config }) });
  try {
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
