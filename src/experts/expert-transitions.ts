import type { ErrorCode } from '../platform/index.ts';
import type { ExpertRequestStatus } from './experts.schemas.ts';

/**
 * The expert-request state machine, free of I/O so every rule is unit-tested:
 * open → accepted (by one member of the group) → answered (by that expert) → closed, and
 * close from any state but closed. Permission is checked before state, so someone without a
 * say learns nothing about where the request stands.
 */
export type ExpertAction = 'accept' | 'answer' | 'close';

export interface RequestState {
  status: ExpertRequestStatus;
  requestedByCsrId: string | null;
  expertCsrId: string | null;
}

export interface Caller {
  /** The CSR the key acts as; null for managers and admins. */
  csrId: string | null;
  isManager: boolean;
  /** Member of the request's expert group. */
  isMember: boolean;
  /** Currently holds the request's ticket. */
  holdsTicket: boolean;
}

export type Verdict = { ok: true; next: ExpertRequestStatus } | { ok: false; code: ErrorCode; detail: string };

const refuse = (code: ErrorCode, detail: string): Verdict => ({ ok: false, code, detail });

export function decide(action: ExpertAction, state: RequestState, caller: Caller): Verdict {
  switch (action) {
    case 'accept':
      if (!caller.csrId) return refuse('forbidden', 'Accepting needs a CSR key: the expert is a CSR');
      if (!caller.isMember) return refuse('forbidden', 'Only members of the expert group can accept its requests');
      if (caller.csrId === state.requestedByCsrId) return refuse('forbidden', 'A CSR cannot accept their own request');
      if (state.status === 'closed') return refuse('expert_request_closed', 'The request is closed');
      if (state.status !== 'open') return refuse('expert_request_taken', 'Another expert accepted this request');
      return { ok: true, next: 'accepted' };

    case 'answer': {
      if (!caller.csrId) return refuse('forbidden', 'Answering needs a CSR key: the expert is a CSR');
      const isExpert = caller.csrId === state.expertCsrId;
      if (!isExpert && !caller.isMember) return refuse('forbidden', 'Only the expert who accepted the request can answer it');
      if (state.status === 'closed') return refuse('expert_request_closed', 'The request is closed');
      if (state.status === 'open') return refuse('expert_request_not_accepted', 'Accept the request before answering it');
      if (!isExpert) return refuse('expert_request_taken', 'Another expert accepted this request');
      if (state.status === 'answered') return refuse('expert_request_answered', 'The request has already been answered');
      return { ok: true, next: 'answered' };
    }

    case 'close': {
      const involved =
        caller.isManager ||
        (caller.csrId !== null && (caller.csrId === state.requestedByCsrId || caller.csrId === state.expertCsrId || caller.holdsTicket));
      if (!involved) return refuse('forbidden', 'Only the requesting CSR, the expert, the ticket holder or a manager can close the request');
      if (state.status === 'closed') return refuse('expert_request_closed', 'The request is already closed');
      return { ok: true, next: 'closed' };
    }
  }
}
