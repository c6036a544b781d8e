export { roles, requireRole, scopeListing, requireCsr, type Role, type Principal } from './principal.ts';
export { createKeyService, type KeyService, type KeyView, type CreateKeyInput } from './keys.service.ts';
export { createKeyBody, keyView, createdKeyView, keyIdSchema } from './keys.schemas.ts';
