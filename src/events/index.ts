export { EventNames, type EventName } from './event-names.ts';
export { appendEvent, readEvents, claimUndispatched, type NewEvent, type StoredEvent, type Actor } from './outbox.store.ts';
