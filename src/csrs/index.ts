export { createCsrService, findCsr, type CsrService } from './csrs.service.ts';
export {
  createCsrBody,
  updateCsrBody,
  presenceBody,
  csrView,
  presenceValues,
  skillSchema,
  type CreateCsrInput,
  type UpdateCsrInput,
  type CsrView,
  type Presence,
} from './csrs.schemas.ts';
