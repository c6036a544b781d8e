import type { FastifyInstance } from 'fastify';
import type { KeyService } from '../auth/index.ts';
import { AppError } from '../platform/index.ts';

/**
 * Resolves the API key (`Authorization: Bearer <key>` or `x-api-key`) to a principal before
 * anything else runs; routes marked `config.public` skip it.
 */
export function registerAuth(
  app: FastifyInstance,
  keys: Pick<KeyService, 'authenticate'>,
  listingExists: (listingId: string) => Promise<boolean>,
) {
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public) return;
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : (request.headers['x-api-key'] as string | undefined);
    if (!token) throw new AppError('unauthorized', 'Send an API key as "Authorization: Bearer <key>"');
    const principal = await keys.authenticate(token);
    if (!principal) throw new AppError('unauthorized', 'The API key is unknown or revoked');
    request.principal = principal;
    // An admin acting on a listing that does not exist gets the same 404 a tenant would.
    const named = request.headers['x-listing-id'];
    if (principal.role === 'admin' && typeof named === 'string' && !(await listingExists(named))) {
      throw new AppError('not_found', `Listing ${named} not found`);
    }
  });
}
