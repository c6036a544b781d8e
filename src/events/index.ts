export { EventNames, type EventName } from './event-names.ts';
export { appendEvent, readEvents, readAfterCursor, lockCursor, advanceCursor, peekCursor, outboxBacklog, type NewEvent, type StoredEvent, type Actor } from './outbox.store.ts';
