export { createExpertService, type ExpertService } from './experts.service.ts';
export { decide, type ExpertAction, type RequestState, type Caller, type Verdict } from './expert-transitions.ts';
export * from './experts.schemas.ts';
