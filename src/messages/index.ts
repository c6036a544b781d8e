export { createMessageService, type MessageService } from './messages.service.ts';
export { createLocalAttachmentStorage, type AttachmentStorage } from './attachment-storage.ts';
export { maskCardNumbers, luhnValid } from './card-numbers.ts';
export * from './messages.schemas.ts';
