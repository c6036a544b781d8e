export { createSmsService, type SmsService } from './sms.service.ts';
export {
  createOutboxSmsSender,
  createProviderSmsSender,
  type SmsSender,
  type SmsProvider,
  type OutgoingSms,
  type SmsReceipt,
} from './sms-sender.ts';
export { smsView, smsStatuses, listSmsQuery, type SmsView, type SmsStatus, type ListSmsQuery } from './sms.schemas.ts';
