import type { Principal } from '../auth/index.ts';
import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import { AppError, isUniqueViolation, newId, type Database, type Queryable } from '../platform/index.ts';
import { findTicket } from '../tickets/index.ts';
import { decide, type ExpertAction } from './expert-transitions.ts';
import {
  createExpertGroupBody,
  type CreateExpertGroupInput,
  type CreateExpertRequestInput,
  type ExpertGroupView,
  type ExpertRequestView,
  type ListExpertRequestsQuery,
  type UpdateExpertGroupInput,
} from './experts.schemas.ts';
import {
  applyTransition,
  countUnresolved,
  findGroup,
  findRequest,
  insertGroup,
  insertRequest,
  isMember,
  isVisibleTo,
  listGroups,
  listRequests,
  markGroupDeleted,
  missingCsrs,
  setMembers,
  toRequestView,
  updateGroup as updateGroupRow,
  type RequestRow,
} from './experts.store.ts';

const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, role: principal.role, csrId: principal.csrId });
const isManager = (principal: Principal) => principal.role === 'manager' || principal.role === 'admin';

/** CSR keys see what concerns them; managers see the whole listing; other keys see nothing. */
function visibilityOf(principal: Principal): string | null {
  if (isManager(principal)) return null;
  if (principal.role === 'csr' && principal.csrId) return principal.csrId;
  throw new AppError('forbidden', 'Expert requests are for CSR and manager keys');
}

async function ensureCsrs(tx: Queryable, listingId: string, csrIds: readonly string[]) {
  const missing = await missingCsrs(tx, listingId, csrIds);
  if (missing.length > 0) throw new AppError('not_found', `No CSR ${missing.join(', ')} in this listing`, { missing });
}

function groupNameTaken(error: unknown, name: string | undefined): unknown {
  return isUniqueViolation(error) ? new AppError('expert_group_exists', `An expert group named "${name}" exists`) : error;
}

export function createExpertService({ db }: { db: Database }) {
  async function load(tx: Queryable, listingId: string, id: string, principal: Principal, options: { forUpdate?: boolean } = {}) {
    const visibleTo = visibilityOf(principal);
    const row = await findRequest(tx, listingId, id, options);
    if (!row) throw new AppError('not_found', `Expert request ${id} not found`);
    return { row, visibleTo };
  }

  /** Runs one state change: lock, decide, write, and record the event in the same transaction. */
  async function transition(
    listingId: string,
    id: string,
    action: ExpertAction,
    principal: Principal,
    answer?: string,
  ): Promise<ExpertRequestView> {
    return db.transaction(async (tx) => {
      const { row } = await load(tx, listingId, id, principal, { forUpdate: true });
      const csrId = principal.role === 'csr' ? principal.csrId : null;
      const ticket = await findTicket(tx, listingId, row.ticket_id);
      const verdict = decide(
        action,
        { status: row.status, requestedByCsrId: row.requested_by_csr_id, expertCsrId: row.expert_csr_id },
        {
          csrId,
          isManager: isManager(principal),
          isMember: csrId !== null && (await isMember(tx, listingId, row.group_id, csrId)),
          holdsTicket: csrId !== null && ticket?.status === 'assigned' && ticket.csr_id === csrId,
        },
      );
      if (!verdict.ok) throw new AppError(verdict.code, verdict.detail, { requestStatus: row.status });
      const actor = actorOf(principal);
      let updated: RequestRow;
      switch (verdict.next) {
        case 'accepted':
          updated = await applyTransition(tx, listingId, id, { to: 'accepted', expertCsrId: csrId! });
          break;
        case 'answered':
          updated = await applyTransition(tx, listingId, id, { to: 'answered', answer: answer! });
          break;
        default:
          updated = await applyTransition(tx, listingId, id, { to: 'closed', closedBy: actor });
      }
      const base = { ticketId: row.ticket_id, groupId: row.group_id };
      const event = {
        accept: { name: EventNames.expertAccepted, payload: { ...base, expertCsrId: csrId } },
        answer: { name: EventNames.expertAnswered, payload: { ...base, expertCsrId: csrId, answer } },
        close: { name: EventNames.expertClosed, payload: { ...base, fromStatus: row.status, answered: row.answer !== null } },
      }[action];
      await appendEvent(tx, { listingId, aggregateType: 'expert_request', aggregateId: id, actor, ...event });
      return toRequestView(updated);
    });
  }

  return {
    async createGroup(listingId: string, rawInput: CreateExpertGroupInput, actor: Actor): Promise<ExpertGroupView> {
      const input = createExpertGroupBody.parse(rawInput);
      const id = newId();
      try {
        return await db.transaction(async (tx) => {
          const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
          if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
          await ensureCsrs(tx, listingId, input.memberIds);
          await insertGroup(tx, { id, listingId, name: input.name, description: input.description });
          await setMembers(tx, listingId, id, input.memberIds);
          await appendEvent(tx, {
            listingId,
            name: EventNames.expertGroupCreated,
            aggregateType: 'expert_group',
            aggregateId: id,
            payload: { name: input.name, memberIds: input.memberIds },
            actor,
          });
          return (await findGroup(tx, listingId, id))!;
        });
      } catch (error) {
        throw groupNameTaken(error, input.name);
      }
    },

    listGroups: (listingId: string, filter: { memberId?: string | undefined }): Promise<ExpertGroupView[]> => listGroups(db, listingId, filter),

    async getGroup(listingId: string, id: string): Promise<ExpertGroupView> {
      const group = await findGroup(db, listingId, id);
      if (!group) throw new AppError('not_found', `Expert group ${id} not found`);
      return group;
    },

    async updateGroup(listingId: string, id: string, input: UpdateExpertGroupInput, actor: Actor): Promise<ExpertGroupView> {
      try {
        return await db.transaction(async (tx) => {
          if (!(await findGroup(tx, listingId, id, { forUpdate: true }))) throw new AppError('not_found', `Expert group ${id} not found`);
          if (input.memberIds) {
            await ensureCsrs(tx, listingId, input.memberIds);
            await setMembers(tx, listingId, id, input.memberIds);
          }
          await updateGroupRow(tx, listingId, id, input);
          await appendEvent(tx, {
            listingId,
            name: EventNames.expertGroupUpdated,
            aggregateType: 'expert_group',
            aggregateId: id,
            payload: { ...input },
            actor,
          });
          return (await findGroup(tx, listingId, id))!;
        });
      } catch (error) {
        throw groupNameTaken(error, input.name);
      }
    },

    /** Soft-deletes a group with nothing pending: answered requests keep pointing at it. */
    async deleteGroup(listingId: string, id: string, actor: Actor): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await findGroup(tx, listingId, id, { forUpdate: true }))) throw new AppError('not_found', `Expert group ${id} not found`);
        const unresolved = await countUnresolved(tx, listingId, id);
        if (unresolved > 0) {
          throw new AppError('expert_group_in_use', `The group has ${unresolved} unresolved request(s); close them first`, { unresolved });
        }
        await markGroupDeleted(tx, listingId, id);
        await appendEvent(tx, { listingId, name: EventNames.expertGroupDeleted, aggregateType: 'expert_group', aggregateId: id, payload: {}, actor });
      });
    },

    /**
     * The CSR holding a ticket (or a manager) asks an expert group for help. One unresolved
     * request per ticket and group: asking again while it is pending is a conflict.
     */
    async request(listingId: string, ticketId: string, input: CreateExpertRequestInput, principal: Principal): Promise<ExpertRequestView> {
      if (!isManager(principal) && principal.role !== 'csr') throw new AppError('forbidden', 'Only CSRs and managers ask experts');
      try {
        return await db.transaction(async (tx) => {
          const ticket = await findTicket(tx, listingId, ticketId, { forUpdate: true });
          if (!ticket) throw new AppError('not_found', `Ticket ${ticketId} not found`);
          if (ticket.status !== 'waiting' && ticket.status !== 'assigned') {
            throw new AppError('ticket_closed', `Ticket ${ticket.ref} has ended (${ticket.status})`);
          }
          if (principal.role === 'csr' && (ticket.status !== 'assigned' || ticket.csr_id !== principal.csrId)) {
            throw new AppError('ticket_not_held', `Ticket ${ticket.ref} is not held by this CSR`);
          }
          const group = await findGroup(tx, listingId, input.groupId);
          if (!group) throw new AppError('not_found', `Expert group ${input.groupId} not found`);
          if (group.memberIds.length === 0) throw new AppError('expert_group_empty', `Expert group "${group.name}" has no members yet`);
          const row = await insertRequest(tx, {
            id: newId(),
            listingId,
            ticketId,
            groupId: group.id,
            requestedByCsrId: principal.role === 'csr' ? principal.csrId : null,
            requestedBy: actorOf(principal),
            question: input.question,
          });
          await appendEvent(tx, {
            listingId,
            name: EventNames.expertRequested,
            aggregateType: 'expert_request',
            aggregateId: row.id,
            payload: { ticketId, groupId: group.id, requestedByCsrId: row.requested_by_csr_id, question: row.question },
            actor: actorOf(principal),
          });
          return toRequestView(row);
        });
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new AppError('expert_request_exists', 'This ticket already has an unresolved request to this group');
        }
        throw error;
      }
    },

    async list(listingId: string, query: ListExpertRequestsQuery & { ticketId?: string }, principal: Principal): Promise<ExpertRequestView[]> {
      const rows = await listRequests(db, listingId, { visibleTo: visibilityOf(principal), ...query });
      return rows.map(toRequestView);
    },

    async listForTicket(listingId: string, ticketId: string, principal: Principal): Promise<ExpertRequestView[]> {
      const visibleTo = visibilityOf(principal);
      if (!(await findTicket(db, listingId, ticketId))) throw new AppError('not_found', `Ticket ${ticketId} not found`);
      const rows = await listRequests(db, listingId, { visibleTo, ticketId, limit: 200 });
      return rows.map(toRequestView);
    },

    async get(listingId: string, id: string, principal: Principal): Promise<ExpertRequestView> {
      const { row, visibleTo } = await load(db, listingId, id, principal);
      if (visibleTo !== null && !(await isVisibleTo(db, listingId, id, visibleTo))) {
        throw new AppError('forbidden', 'This request concerns neither this CSR, their groups nor a ticket they hold');
      }
      return toRequestView(row);
    },

    accept: (listingId: string, id: string, principal: Principal) => transition(listingId, id, 'accept', principal),
    answer: (listingId: string, id: string, answer: string, principal: Principal) => transition(listingId, id, 'answer', principal, answer),
    close: (listingId: string, id: string, principal: Principal) => transition(listingId, id, 'close', principal),
  };
}

export type ExpertService = ReturnType<typeof createExpertService>;
