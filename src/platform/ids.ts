import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids created close together
 * sort close together, so primary-key inserts land on the right-hand edge of the B-tree instead
 * of a random page, which keeps index writes and WAL small on the hot tables (messages, tickets).
 */
// Random bytes are drawn from the system 4 KiB at a time: one call into the CSPRNG per 409 ids
// instead of one per id (a hot path logs several ids per request).
const POOL_BYTES = 4096;
const ID_RANDOM_BYTES = 10;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolOffset = POOL_BYTES;
const id = Buffer.allocUnsafe(16);

export function newId(): string {
  if (poolOffset + ID_RANDOM_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  id.writeUIntBE(Date.now(), 0, 6);
  pool.copy(id, 6, poolOffset, poolOffset + ID_RANDOM_BYTES);
  poolOffset += ID_RANDOM_BYTES;
  id[6] = (id[6]! & 0x0f) | 0x70;
  id[8] = (id[8]! & 0x3f) | 0x80;
  const hex = id.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A v4 UUID, for values that must not reveal their creation time. */
export const randomId = (): string => randomUUID();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

/** URL-safe random token of `bytes` bytes of entropy. */
export const randomToken = (bytes: number): string => randomBytes(bytes).toString('base64url');
