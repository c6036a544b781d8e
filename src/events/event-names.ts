/**
 * Every domain event name, in one place. Dotted, past tense. Consumers (analytics ingest,
 * realtime fan-out, automation) match on these constants, never on string literals.
 */
export const EventNames = {
  listingCreated: 'listing.created',
  listingUpdated: 'listing.updated',
  csrCreated: 'csr.created',
  csrUpdated: 'csr.updated',
  csrPresenceChanged: 'csr.presence_changed',
  customerCreated: 'customer.created',
  customerIdentityLinked: 'customer.identity_linked',
  ticketCreated: 'ticket.created',
  ticketAssigned: 'ticket.assigned',
  ticketReleased: 'ticket.released',
  ticketEnded: 'ticket.ended',
  ticketRated: 'ticket.rated',
  messageCreated: 'message.created',
  attachmentUploaded: 'attachment.uploaded',
  paymentRequested: 'payment.requested',
  apiKeyCreated: 'api_key.created',
  apiKeyRevoked: 'api_key.revoked',
} as const;

export type EventName = (typeof EventNames)[keyof typeof EventNames];
