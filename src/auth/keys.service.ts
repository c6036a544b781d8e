import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendEvent, EventNames } from '../events/index.ts';
import { AppError, randomToken, type Database } from '../platform/index.ts';
import { findKey, insertKey, listKeys, markRevoked, type ApiKeyRecord } from './keys.store.ts';
import type { Principal, Role } from './principal.ts';

/**
 * API keys: `lw_<16 hex id>_<43 chars secret>`. Only a SHA-256 of the secret is stored (the
 * secret has 256 bits of entropy, so a slow hash buys nothing) and the token is shown once.
 * Verified keys are cached briefly so the hot path does not read the database per request;
 * revoking through this service evicts at once, other processes see it within the cache TTL.
 */
const TOKEN = /^lw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const ADMIN_ENV_KEY_ID = 'env-admin';

// One-shot: no Hash object per request (about half the cost on the authentication hot path).
const sha256 = (value: string) => hash('sha256', value, 'buffer');

export interface CreateKeyInput {
  listingId: string | null;
  role: Role;
  csrId?: string | null;
  name?: string;
  rateLimitPerMinute?: number | null;
}

export interface KeyView {
  id: string;
  listingId: string | null;
  role: Role;
  csrId: string | null;
  name: string;
  rateLimitPerMinute: number | null;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface KeysDeps {
  db: Database;
  adminApiKey?: string | undefined;
  cacheSeconds: number;
  now?: () => number;
}

const toView = ({ secretHash: _secretHash, ...view }: ApiKeyRecord): KeyView => view;

export function createKeyService({ db, adminApiKey, cacheSeconds, now = Date.now }: KeysDeps) {
  const adminDigest = adminApiKey ? sha256(adminApiKey) : undefined;
  // A token in the key format can only be the admin key if the admin key has that format too;
  // otherwise the admin comparison (a SHA-256 of the token) is skipped for every key-format token.
  const adminHasKeyFormat = adminApiKey !== undefined && TOKEN.test(adminApiKey);
  const cache = new Map<string, { principal: Principal; secretHash: Buffer; expiresAt: number }>();

  async function authenticate(token: string): Promise<Principal | undefined> {
    const match = TOKEN.exec(token);
    if (adminDigest && (!match || adminHasKeyFormat) && timingSafeEqual(sha256(token), adminDigest)) {
      return { keyId: ADMIN_ENV_KEY_ID, role: 'admin', listingId: null, csrId: null, rateLimitPerMinute: null };
    }
    if (!match) return undefined;
    const [, id, secret] = match as unknown as [string, string, string];
    const presented = sha256(secret);
    const cached = cache.get(id);
    if (cached && cached.expiresAt > now()) {
      return timingSafeEqual(presented, cached.secretHash) ? cached.principal : undefined;
    }
    const record = await findKey(db, id);
    if (!record || record.revokedAt) {
      cache.delete(id);
      return undefined;
    }
    const stored = Buffer.from(record.secretHash, 'hex');
    if (stored.length !== presented.length || !timingSafeEqual(presented, stored)) return undefined;
    const principal: Principal = {
      keyId: record.id,
      role: record.role,
      listingId: record.listingId,
      csrId: record.csrId,
      rateLimitPerMinute: record.rateLimitPerMinute,
    };
    if (cacheSeconds > 0) cache.set(id, { principal, secretHash: stored, expiresAt: now() + cacheSeconds * 1000 });
    return principal;
  }

  async function create(input: CreateKeyInput): Promise<{ key: KeyView; token: string }> {
    if ((input.role === 'admin') !== (input.listingId === null)) {
      throw new AppError('validation_failed', 'Admin keys have no listing; every other key belongs to one listing');
    }
    if (input.csrId && input.role !== 'csr') {
      throw new AppError('validation_failed', 'Only csr keys can be bound to a CSR');
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomToken(32);
    return db.transaction(async (tx) => {
      if (input.listingId !== null) {
        const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [input.listingId]);
        if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${input.listingId} not found`);
      }
      if (input.csrId) {
        const csr = await tx.query('SELECT 1 FROM csrs WHERE listing_id = $1 AND id = $2', [input.listingId, input.csrId]);
        if (csr.rowCount === 0) throw new AppError('not_found', `CSR ${input.csrId} not found in listing ${input.listingId}`);
      }
      const record = await insertKey(tx, {
        id,
        listingId: input.listingId,
        role: input.role,
        csrId: input.csrId ?? null,
        name: input.name ?? '',
        secretHash: sha256(secret).toString('hex'),
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
      });
      if (record.listingId) {
        await appendEvent(tx, {
          listingId: record.listingId,
          name: EventNames.apiKeyCreated,
          aggregateType: 'api_key',
          aggregateId: record.id,
          payload: { role: record.role, csrId: record.csrId },
        });
      }
      return { key: toView(record), token: `lw_${id}_${secret}` };
    });
  }

  /** Revokes a key; `listingId` scopes the lookup for tenant callers (undefined = admin). */
  async function revoke(id: string, listingId: string | undefined): Promise<KeyView> {
    return db.transaction(async (tx) => {
      const existing = await findKey(tx, id);
      if (!existing || (listingId !== undefined && existing.listingId !== listingId)) {
        throw new AppError('not_found', `Key ${id} not found`);
      }
      if (existing.revokedAt) throw new AppError('key_revoked', `Key ${id} was revoked at ${existing.revokedAt.toISOString()}`);
      const revoked = (await markRevoked(tx, id))!;
      if (revoked.listingId) {
        await appendEvent(tx, {
          listingId: revoked.listingId,
          name: EventNames.apiKeyRevoked,
          aggregateType: 'api_key',
          aggregateId: id,
          payload: {},
        });
      }
      cache.delete(id);
      return toView(revoked);
    });
  }

  async function list(listingId: string | undefined): Promise<KeyView[]> {
    return (await listKeys(db, listingId)).map(toView);
  }

  return { authenticate, create, revoke, list };
}

export type KeyService = ReturnType<typeof createKeyService>;
