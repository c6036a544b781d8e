export { createCannedService, type CannedService } from './canned.service.ts';
export {
  cannedResponseBody,
  updateCannedResponseBody,
  cannedIdParams,
  listCannedQuery,
  cannedResponseView,
  cannedVersionView,
  type CannedResponseInput,
  type UpdateCannedResponseInput,
  type CannedResponseView,
  type CannedVersionView,
} from './canned.schemas.ts';
