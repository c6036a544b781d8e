/**
 * Typed domain errors. Each carries a stable machine `code` and the HTTP status the API maps it
 * to; the one mapper in `src/api/problem.ts` turns them into RFC 9457 problem+json.
 * The catalog below is the documented list of codes (README, "Error codes").
 */
export const errorCatalog = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  unauthorized: { status: 401, title: 'Missing or invalid credentials' },
  forbidden: { status: 403, title: 'This key may not perform this action' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  listing_exists: { status: 409, title: 'A listing with this id exists' },
  identity_taken: { status: 409, title: 'This identity belongs to another customer' },
  invalid_transition: { status: 409, title: 'The ticket is not in a state that allows this' },
  ticket_not_held: { status: 409, title: 'The ticket is not held by this CSR' },
  ticket_closed: { status: 409, title: 'The ticket has ended' },
  already_rated: { status: 409, title: 'The ticket has already been rated' },
  csr_offline: { status: 409, title: 'The CSR is offline' },
  csr_at_capacity: { status: 409, title: 'The CSR is at capacity' },
  queue_empty: { status: 404, title: 'No waiting ticket matches this CSR' },
  key_revoked: { status: 409, title: 'The key is already revoked' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unprocessable: { status: 422, title: 'The request cannot be processed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'A dependency is unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? errorCatalog[code].title);
    this.status = errorCatalog[code].status;
    this.title = errorCatalog[code].title;
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const conflict = (code: ErrorCode, detail: string, extensions?: Record<string, unknown>) =>
  new AppError(code, detail, extensions);
export const forbidden = (detail: string) => new AppError('forbidden', detail);
export const invalidInput = (detail: string, extensions?: Record<string, unknown>) =>
  new AppError('validation_failed', detail, extensions);
