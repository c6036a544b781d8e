export { createIvrService, type IvrService, type IvrCaller } from './ivr.service.ts';
export {
  createIvrSystemBody,
  updateIvrSystemBody,
  ivrSystemIdParams,
  ivrSystemView,
  createdIvrSystemView,
  ivrChatRequestBody,
  ivrChatResult,
  landlinePatternSchema,
  liveCallReasons,
  type CreateIvrSystemInput,
  type UpdateIvrSystemInput,
  type IvrSystemView,
  type IvrChatRequest,
  type IvrChatResult,
  type LiveCallReason,
} from './ivr.schemas.ts';
export { isLandline, matchesLandlinePattern, landlinePattern } from './landline.ts';
export { parseBasicAuth } from './basic-auth.ts';
export { renderSmsText, DEFAULT_SMS_TEMPLATE, smsPlaceholders } from './sms-text.ts';
