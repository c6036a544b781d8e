import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import type { CreateKeyInput, KeyView } from '../auth/index.ts';
import type { CoreServices } from '../core.ts';
import type { CreateCsrInput, CsrView } from '../csrs/index.ts';
import type { CreateListingInput, ListingView } from '../listings/index.ts';
import type { ScheduleView } from '../schedule/index.ts';
import { AppError, type Config } from '../platform/index.ts';
import { serverInfoFile } from '../runtime.ts';

/** What the admin commands need, whether they run against the database or a running server. */
export interface AdminClient {
  readonly mode: 'direct' | 'server';
  createListing(input: CreateListingInput): Promise<ListingView>;
  listListings(): Promise<ListingView[]>;
  createCsr(listingId: string, input: CreateCsrInput): Promise<CsrView>;
  listCsrs(listingId: string): Promise<CsrView[]>;
  createKey(input: CreateKeyInput): Promise<{ key: KeyView; token: string }>;
  listKeys(listingId: string | undefined): Promise<KeyView[]>;
  revokeKey(id: string): Promise<KeyView>;
  /** A listing's time zone, weekly hours and holidays (all of them); undefined: no such listing. */
  listingCalendar(listingId: string): Promise<ListingCalendar | undefined>;
}

export interface ListingCalendar {
  timeZone: string;
  weekly: ScheduleView['weekly'];
  holidays: string[];
}

const ALL_HOLIDAYS = '1970-01-01';

export function directAdminClient(services: CoreServices): AdminClient {
  return {
    mode: 'direct',
    createListing: (input) => services.listings.create(input),
    listListings: () => services.listings.list(),
    createCsr: (listingId, input) => services.csrs.create(listingId, input),
    listCsrs: (listingId) => services.csrs.list(listingId),
    createKey: (input) => services.keys.create(input),
    listKeys: (listingId) => services.keys.list(listingId),
    revokeKey: (id) => services.keys.revoke(id, undefined),
    async listingCalendar(listingId) {
      const schedule = await services.schedule.getSchedule(listingId).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'not_found') return undefined;
        throw error;
      });
      if (!schedule) return undefined;
      const holidays = await services.schedule.listHolidays(listingId, { from: ALL_HOLIDAYS });
      return { timeZone: schedule.timezone, weekly: schedule.weekly, holidays: holidays.map((holiday) => holiday.date) };
    },
  };
}

/** The embedded server's address, when one is running on this DATA_DIR. */
export async function runningEmbeddedServer(config: Config): Promise<string | undefined> {
  if (config.DATABASE_URL) return undefined;
  return runningServerOnDataDir(config);
}

/**
 * The address of an api process that runs jobs on this DATA_DIR (no REDIS_URL), and so holds the
 * analytics database: PGlite or Postgres alike.
 */
export async function runningAnalyticsOwner(config: Config): Promise<string | undefined> {
  if (config.REDIS_URL) return undefined;
  return runningServerOnDataDir(config);
}

async function runningServerOnDataDir(config: Config): Promise<string | undefined> {
  try {
    const info = JSON.parse(await readFile(serverInfoFile(config), 'utf8')) as { pid: number; url: string };
    process.kill(info.pid, 0);
    return info.url;
  } catch {
    return undefined;
  }
}

/**
 * PGlite's files belong to one process. While `npm start` runs on the embedded database, the CLI
 * sends admin commands to that server over HTTP with the bootstrap admin key instead.
 */
export async function serverAdminClient(config: Config, baseUrl: string): Promise<AdminClient> {
  const adminKey = config.ADMIN_API_KEY ?? (await readFile(path.join(config.dataDir, 'admin.key'), 'utf8').catch(() => '')).trim();
  if (!adminKey) throw new AppError('unauthorized', 'No admin key: set ADMIN_API_KEY or start the server once to create DATA_DIR/admin.key');
  const call = async <T>(method: string, url: string, body?: unknown, listingId?: string): Promise<T> => {
    const response = await fetch(new URL(url, baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(listingId ? { 'x-listing-id': listingId } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const payload = (await response.json()) as T & { code?: string; detail?: string; title?: string };
    if (!response.ok) throw new RemoteProblem(payload.code ?? 'internal', payload.detail ?? payload.title ?? `HTTP ${response.status}`);
    return payload;
  };
  return {
    mode: 'server',
    createListing: (input) => call('POST', '/v1/admin/listings', input),
    listListings: async () => (await call<{ items: ListingView[] }>('GET', '/v1/admin/listings')).items,
    createCsr: (listingId, input) => call('POST', '/v1/csrs', input, listingId),
    listCsrs: async (listingId) => (await call<{ items: CsrView[] }>('GET', '/v1/csrs', undefined, listingId)).items,
    createKey: (input) =>
      call('POST', '/v1/keys', {
        listingId: input.listingId,
        role: input.role,
        ...(input.csrId ? { csrId: input.csrId } : {}),
        ...(input.name ? { name: input.name } : {}),
        ...(input.rateLimitPerMinute ? { rateLimitPerMinute: input.rateLimitPerMinute } : {}),
      }),
    listKeys: async (listingId) => (await call<{ items: KeyView[] }>('GET', `/v1/keys${listingId ? `?listingId=${encodeURIComponent(listingId)}` : ''}`)).items,
    revokeKey: (id) => call('POST', `/v1/keys/${id}/revoke`),
    async listingCalendar(listingId) {
      const schedule = await call<ScheduleView>('GET', '/v1/listing/schedule', undefined, listingId).catch((error: unknown) => {
        if (error instanceof RemoteProblem && error.code === 'not_found') return undefined;
        throw error;
      });
      if (!schedule) return undefined;
      const holidays = await call<{ items: Array<{ date: string }> }>('GET', `/v1/listing/holidays?from=${ALL_HOLIDAYS}`, undefined, listingId);
      return { timeZone: schedule.timezone, weekly: schedule.weekly, holidays: holidays.items.map((holiday) => holiday.date) };
    },
  };
}

export class RemoteProblem extends Error {
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

async function adminKeyOf(config: Config): Promise<string> {
  const adminKey = config.ADMIN_API_KEY ?? (await readFile(path.join(config.dataDir, 'admin.key'), 'utf8').catch(() => '')).trim();
  if (!adminKey) throw new AppError('unauthorized', 'No admin key: set ADMIN_API_KEY or start the server once to create DATA_DIR/admin.key');
  return adminKey;
}

/**
 * `loopwise ingest` while a server owns the analytics database: POST /v1/admin/ingest, which runs
 * the ingest in that server and answers when it is done. node:http rather than fetch, whose
 * five-minute header timeout a large file would exceed. Aborting closes the connection, which
 * stops the server's ingest after its current batch (a rerun resumes).
 */
export async function serverIngest<T>(config: Config, baseUrl: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const adminKey = await adminKeyOf(config);
  const url = new URL('/v1/admin/ingest', baseUrl);
  const payload = JSON.stringify(body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        ...(signal ? { signal } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T & { code?: string; detail?: string; title?: string };
            const status = response.statusCode ?? 500;
            if (status >= 400) reject(new RemoteProblem(parsed.code ?? 'internal', parsed.detail ?? parsed.title ?? `HTTP ${status}`));
            else resolve(parsed);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}
