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
  // IVR → chat, chat-session links and expert help (migration 003).
  ivrSystemCreated: 'ivr_system.created',
  ivrSystemUpdated: 'ivr_system.updated',
  ivrSystemRevoked: 'ivr_system.revoked',
  ivrChatRequested: 'ivr.chat_requested',
  chatSettingsUpdated: 'chat_settings.updated',
  chatLinkCreated: 'chat_link.created',
  chatLinkOpened: 'chat_link.opened',
  expertGroupCreated: 'expert_group.created',
  expertGroupUpdated: 'expert_group.updated',
  expertGroupDeleted: 'expert_group.deleted',
  expertRequested: 'expert.requested',
  expertAccepted: 'expert.accepted',
  expertAnswered: 'expert.answered',
  expertClosed: 'expert.closed',
  // Listing configuration: business hours, automated messages, canned content (migration 002).
  listingScheduleUpdated: 'listing.schedule_updated',
  listingHolidayAdded: 'listing.holiday_added',
  listingHolidayRemoved: 'listing.holiday_removed',
  automatedMessagesUpdated: 'automated_messages.updated',
  automatedMessageSent: 'automated_message.sent',
  cannedResponseCreated: 'canned_response.created',
  cannedResponseUpdated: 'canned_response.updated',
  cannedResponseDeleted: 'canned_response.deleted',
  // Model registry (migration 007).
  modelVersionSaved: 'model.version_saved',
  modelPromoted: 'model.promoted',
} as const;

export type EventName = (typeof EventNames)[keyof typeof EventNames];
