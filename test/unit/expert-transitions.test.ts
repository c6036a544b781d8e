import { describe, expect, it } from 'vitest';
import { decide, type Caller, type RequestState } from '../../src/experts/index.ts';

const asker = 'csr-asker';
const alice = 'csr-alice';
const bob = 'csr-bob';

const member = (csrId: string): Caller => ({ csrId, isManager: false, isMember: true, holdsTicket: false });
const stranger = (csrId: string): Caller => ({ csrId, isManager: false, isMember: false, holdsTicket: false });
const manager: Caller = { csrId: null, isManager: true, isMember: false, holdsTicket: false };
const state = (status: RequestState['status'], expertCsrId: string | null = null): RequestState => ({ status, requestedByCsrId: asker, expertCsrId });

const codeOf = (verdict: ReturnType<typeof decide>) => (verdict.ok ? `ok:${verdict.next}` : verdict.code);

describe('expert request transitions', () => {
  it('accept: a member takes an open request once', () => {
    expect(codeOf(decide('accept', state('open'), member(alice)))).toBe('ok:accepted');
    expect(codeOf(decide('accept', state('accepted', alice), member(bob)))).toBe('expert_request_taken');
    expect(codeOf(decide('accept', state('answered', alice), member(bob)))).toBe('expert_request_taken');
    expect(codeOf(decide('accept', state('closed'), member(bob)))).toBe('expert_request_closed');
    expect(codeOf(decide('accept', state('open'), stranger(bob)))).toBe('forbidden');
    expect(codeOf(decide('accept', state('open'), manager))).toBe('forbidden');
    expect(codeOf(decide('accept', state('open'), member(asker)))).toBe('forbidden');
  });

  it('answer: only the accepting expert, once, after accepting', () => {
    expect(codeOf(decide('answer', state('accepted', alice), member(alice)))).toBe('ok:answered');
    expect(codeOf(decide('answer', state('open'), member(alice)))).toBe('expert_request_not_accepted');
    expect(codeOf(decide('answer', state('accepted', alice), member(bob)))).toBe('expert_request_taken');
    expect(codeOf(decide('answer', state('answered', alice), member(alice)))).toBe('expert_request_answered');
    expect(codeOf(decide('answer', state('closed', alice), member(alice)))).toBe('expert_request_closed');
    expect(codeOf(decide('answer', state('accepted', alice), stranger(bob)))).toBe('forbidden');
    // An expert removed from the group may still finish what they accepted.
    expect(codeOf(decide('answer', state('accepted', alice), stranger(alice)))).toBe('ok:answered');
  });

  it('close: requester, expert, ticket holder or manager, from any state but closed', () => {
    for (const status of ['open', 'accepted', 'answered'] as const) {
      expect(codeOf(decide('close', state(status, status === 'open' ? null : alice), stranger(asker)))).toBe('ok:closed');
    }
    expect(codeOf(decide('close', state('answered', alice), stranger(alice)))).toBe('ok:closed');
    expect(codeOf(decide('close', state('open'), manager))).toBe('ok:closed');
    expect(codeOf(decide('close', state('open'), { ...stranger(bob), holdsTicket: true }))).toBe('ok:closed');
    expect(codeOf(decide('close', state('open'), member(bob)))).toBe('forbidden');
    expect(codeOf(decide('close', state('closed'), manager))).toBe('expert_request_closed');
  });
});
