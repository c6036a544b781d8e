import path from 'node:path';
import { z } from 'zod';

/**
 * The whole runtime configuration, parsed once from the environment at boot.
 * Only this module reads `process.env`; everything else receives a `Config`.
 */
const optionalUrl = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .pipe(z.url().optional())
  .optional();

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('data/local'),
  DATABASE_URL: optionalUrl.describe('PostgreSQL connection string; unset → embedded PGlite in DATA_DIR'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier')
    .default('public'),
  REDIS_URL: optionalUrl.describe('Redis for BullMQ and rate limits; unset → jobs run in-process'),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  ADMIN_API_KEY: z
    .string()
    .min(24, 'ADMIN_API_KEY must be at least 24 characters')
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(6000),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  ATTACHMENT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(10 * 1024 * 1024),
  ATTACHMENT_TYPES: z
    .string()
    .default(
      'image/png,image/jpeg,image/gif,image/webp,audio/mpeg,audio/ogg,audio/wav,audio/webm,video/mp4,video/webm,application/pdf,text/plain,text/csv',
    )
    .transform((value) =>
      value
        .split(',')
        .map((type) => type.trim().toLowerCase())
        .filter(Boolean),
    ),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  MESSAGE_WRITE_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('Message-insert statements in flight at once; posts arriving meanwhile are group-committed'),
  ANALYTICS_DB_PATH: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .describe('DuckDB analytics file; unset → DATA_DIR/analytics.duckdb'),
  INGEST_RAW_TEXT_LISTINGS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    )
    .describe('Listings allowed to ingest without PII redaction (`loopwise ingest --no-redact`)'),
  RULES_REFRESH_MS: z.coerce
    .number()
    .int()
    .min(50)
    .max(600_000)
    .default(1000)
    .describe('How long an api process uses its compiled published rules before re-checking for changes made elsewhere'),
  SUGGEST_MIN_SCORE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.05)
    .describe('Confidence gate of POST /v1/suggest: learned suggestions scoring lower are not shown (a request may set its own)'),
  SUGGEST_WORKERS: z.coerce
    .number()
    .int()
    .min(0)
    .max(16)
    .default(1)
    .describe('Threads that rank learned suggestions and run outcome what-ifs, off the event loop (started on the first model load); 0 = in the request thread'),
  LLM_BASE_URL: optionalUrl.describe('OpenAI-compatible endpoint for generated drafts, e.g. http://127.0.0.1:8080/v1; unset → no drafts (503)'),
  LLM_API_KEY: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .describe('Bearer key for LLM_BASE_URL (local servers usually accept anything)'),
  LLM_MODEL: z.string().trim().min(1).max(200).default('gpt-4o-mini').describe('Model name sent to LLM_BASE_URL'),
  LLM_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(8000).describe('A draft request is aborted after this long (504)'),
});

export type Config = Readonly<z.output<typeof configSchema>> & {
  /** Absolute data directory. */
  readonly dataDir: string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parse an environment-like record; throws a ConfigError naming every bad key. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze({ ...result.data, dataDir: path.resolve(result.data.DATA_DIR) });
}

/**
 * The process environment, parsed once. Call only from a composition root. `defaults` apply where
 * the environment is silent (e.g. the CLI logs less by default); `overrides` win over it.
 */
export function loadConfigFromEnv(
  overrides: Record<string, string | undefined> = {},
  defaults: Record<string, string | undefined> = {},
): Config {
  return parseConfig({ ...defaults, ...process.env, ...overrides });
}
