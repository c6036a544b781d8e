import { AppError } from '../platform/index.ts';

export const roles = ['admin', 'manager', 'csr', 'developer', 'bot'] as const;
export type Role = (typeof roles)[number];

/** Who is calling: resolved from the API key on every request. */
export interface Principal {
  keyId: string;
  role: Role;
  /** The key's listing; null only for admin keys, which act on any listing. */
  listingId: string | null;
  csrId: string | null;
  rateLimitPerMinute: number | null;
}

export function requireRole(principal: Principal, allowed: readonly Role[]): void {
  if (principal.role === 'admin' || allowed.includes(principal.role)) return;
  throw new AppError('forbidden', `A ${principal.role} key may not do this; needs one of: ${allowed.join(', ')}`);
}

/**
 * The listing a request acts on. Tenant keys act on their own listing only; an admin key names
 * one with the `x-listing-id` header.
 */
export function scopeListing(principal: Principal, requestedListing: string | undefined): string {
  if (principal.listingId !== null) return principal.listingId;
  if (!requestedListing) {
    throw new AppError('validation_failed', 'An admin key must name the listing with the x-listing-id header');
  }
  return requestedListing;
}

/** The calling CSR, for routes that act as one (pull, current). */
export function requireCsr(principal: Principal): string {
  if (principal.role === 'csr' && principal.csrId) return principal.csrId;
  throw new AppError('forbidden', 'This action needs a CSR key bound to a CSR (keys create --role csr --csr ID)');
}
