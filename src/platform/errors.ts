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
  // IVR → chat, chat-session links and expert help (migration 003).
  ivr_system_revoked: { status: 409, title: 'The IVR system is already revoked' },
  chat_not_configured: { status: 409, title: 'Chat links are not configured for this listing' },
  link_expired: { status: 410, title: 'The link has expired' },
  expert_group_exists: { status: 409, title: 'An expert group with this name exists' },
  expert_group_in_use: { status: 409, title: 'The expert group has unresolved requests' },
  expert_group_empty: { status: 409, title: 'The expert group has no members' },
  expert_request_exists: { status: 409, title: 'An unresolved request to this group exists for the ticket' },
  expert_request_taken: { status: 409, title: 'Another expert has taken this request' },
  expert_request_not_accepted: { status: 409, title: 'The request must be accepted before it is answered' },
  expert_request_answered: { status: 409, title: 'The request has already been answered' },
  expert_request_closed: { status: 409, title: 'The request is closed' },
  // Listing configuration (migration 002).
  holiday_exists: { status: 409, title: 'A holiday on this date exists' },
  canned_shortcut_taken: { status: 409, title: 'Another canned response uses this shortcut' },
  canned_version_conflict: { status: 409, title: 'The canned response has changed since that version' },
  // Model registry (migration 007).
  no_promoted_model: { status: 409, title: 'No model is promoted for this listing and target' },
  model_incompatible: { status: 409, title: 'The model was trained on another feature set than this code computes' },
  // Keyword AI rules (migration 008).
  rule_version_conflict: { status: 409, title: 'The rule has changed since that version' },
  // Hand-off, auto-actions and LLM drafts (migration 010).
  auto_action_offer_in_use: { status: 409, title: 'A policy still uses this offer' },
  auto_action_name_taken: { status: 409, title: 'Another offer or policy of the listing has this name' },
  auto_action_decided: { status: 409, title: 'The proposal has already been decided' },
  offer_answered: { status: 409, title: 'The offer has already been answered' },
  upstream_failed: { status: 502, title: 'A dependency answered with an error' },
  upstream_timeout: { status: 504, title: 'A dependency did not answer in time' },
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
