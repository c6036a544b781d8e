import type { FastifyRequest } from 'fastify';
import { scopeListing, type Principal } from '../auth/index.ts';
import { AppError } from '../platform/index.ts';
import { problemSchema } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Routes reachable without an API key (health, docs). */
    public?: boolean;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthorized');
  return request.principal;
}

/** The listing this request acts on (the key's own; admin keys name it in `x-listing-id`). */
export function listingOf(request: FastifyRequest): string {
  const header = request.headers['x-listing-id'];
  return scopeListing(principalOf(request), Array.isArray(header) ? header[0] : header);
}

/**
 * Problem responses for the OpenAPI document, under the media type they are served with;
 * 401/429/500 apply to every authenticated route. (The error handler serialises them itself.)
 */
export function problems(...statuses: number[]) {
  return publicProblems(...statuses, 401, 429, 500);
}

/** Problem responses exactly as listed, for routes without an API key (no 401/429). */
export function publicProblems(...statuses: number[]) {
  const response = { description: 'RFC 9457 problem details', content: { 'application/problem+json': { schema: problemSchema } } };
  return Object.fromEntries([...new Set(statuses)].sort().map((status) => [status, response])) as Record<number, typeof response>;
}

export const bearerSecurity = [{ apiKey: [] }];
