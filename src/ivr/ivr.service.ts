import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../auth/index.ts';
import type { ChatLinkService } from '../chat-links/index.ts';
import type { Identity } from '../customers/index.ts';
import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import { getListing } from '../listings/index.ts';
import { AppError, newId, randomToken, type Database } from '../platform/index.ts';
import type { SmsSender } from '../sms/index.ts';
import type { TicketService } from '../tickets/index.ts';
import { parseBasicAuth } from './basic-auth.ts';
import {
  createIvrSystemBody,
  type CreateIvrSystemInput,
  type IvrChatRequest,
  type IvrChatResult,
  type IvrSystemView,
  type LiveCallReason,
  type UpdateIvrSystemInput,
} from './ivr.schemas.ts';
import {
  findSystem,
  findSystemByUsername,
  insertSystem,
  listSystems,
  markRevoked,
  touchSystem,
  updateSystem,
  type IvrSystemRecord,
} from './ivr.store.ts';
import { isLandline } from './landline.ts';
import { DEFAULT_SMS_TEMPLATE, renderSmsText } from './sms-text.ts';

const USERNAME = /^ivr_[0-9a-f]{16}$/;

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** The authenticated IVR system a chat request comes from. */
export interface IvrCaller {
  systemId: string;
  listingId: string;
  name: string;
  landlinePatterns: string[];
  smsTemplate: string | null;
}

export interface IvrServiceDeps {
  db: Database;
  tickets: Pick<TicketService, 'create' | 'end'>;
  chatLinks: Pick<ChatLinkService, 'findSettings' | 'mint'>;
  sms: SmsSender;
}

const toView = ({ secretHash: _secretHash, ...view }: IvrSystemRecord): IvrSystemView => view;

const actorOf = (caller: IvrCaller): Actor => ({ keyId: `ivr:${caller.systemId}`, role: 'ivr' });

/**
 * The ticket service acts for API keys. An IVR system is an automated client like a bot, so
 * its tickets are created as one; the key id names the IVR system for the audit trail.
 */
const principalOf = (caller: IvrCaller): Principal => ({
  keyId: `ivr:${caller.systemId}`,
  role: 'bot',
  listingId: caller.listingId,
  csrId: null,
  rateLimitPerMinute: null,
});

function identitiesOf(input: IvrChatRequest): Identity[] {
  const identities: Identity[] = [{ kind: 'phone', value: input.cid }];
  if (input.email) identities.push({ kind: 'email', value: input.email });
  if (input.external_id) identities.push({ kind: 'external', value: input.external_id });
  return identities;
}

export function createIvrService({ db, tickets, chatLinks, sms }: IvrServiceDeps) {
  // Unknown usernames are still compared against something, so a miss costs what a hit costs.
  const decoyHash = sha256(randomToken(32));

  async function recordRequest(caller: IvrCaller, payload: Record<string, unknown>): Promise<void> {
    await db.transaction(async (tx) => {
      await touchSystem(tx, caller.listingId, caller.systemId);
      await appendEvent(tx, {
        listingId: caller.listingId,
        name: EventNames.ivrChatRequested,
        aggregateType: 'ivr_system',
        aggregateId: caller.systemId,
        payload,
        actor: actorOf(caller),
      });
    });
  }

  async function liveCall(caller: IvrCaller, reason: LiveCallReason, input: IvrChatRequest): Promise<IvrChatResult> {
    await recordRequest(caller, { outcome: 'live_call', reason, dnis: input.dnis ?? null });
    return { outcome: 'live_call', reason };
  }

  return {
    async create(listingId: string, rawInput: CreateIvrSystemInput, actor: Actor): Promise<{ system: IvrSystemView; username: string; password: string }> {
      const input = createIvrSystemBody.parse(rawInput);
      const username = `ivr_${randomBytes(8).toString('hex')}`;
      const password = randomToken(32);
      return db.transaction(async (tx) => {
        const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
        if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
        const record = await insertSystem(tx, {
          id: newId(),
          listingId,
          name: input.name,
          username,
          secretHash: sha256(password).toString('hex'),
          landlinePatterns: input.landlinePatterns,
          smsTemplate: input.smsTemplate,
        });
        await appendEvent(tx, {
          listingId,
          name: EventNames.ivrSystemCreated,
          aggregateType: 'ivr_system',
          aggregateId: record.id,
          payload: { name: record.name, landlinePatterns: record.landlinePatterns },
          actor,
        });
        return { system: toView(record), username, password };
      });
    },

    async list(listingId: string): Promise<IvrSystemView[]> {
      return (await listSystems(db, listingId)).map(toView);
    },

    async get(listingId: string, id: string): Promise<IvrSystemView> {
      const record = await findSystem(db, listingId, id);
      if (!record) throw new AppError('not_found', `IVR system ${id} not found`);
      return toView(record);
    },

    async update(listingId: string, id: string, input: UpdateIvrSystemInput, actor: Actor): Promise<IvrSystemView> {
      return db.transaction(async (tx) => {
        const existing = await findSystem(tx, listingId, id, { forUpdate: true });
        if (!existing) throw new AppError('not_found', `IVR system ${id} not found`);
        if (existing.revokedAt) throw new AppError('ivr_system_revoked', `IVR system ${id} was revoked; create a new one`);
        const updated = (await updateSystem(tx, listingId, id, input))!;
        await appendEvent(tx, {
          listingId,
          name: EventNames.ivrSystemUpdated,
          aggregateType: 'ivr_system',
          aggregateId: id,
          payload: { changed: Object.keys(input).filter((key) => input[key as keyof UpdateIvrSystemInput] !== undefined) },
          actor,
        });
        return toView(updated);
      });
    },

    /** Revoking takes effect on the next request: credentials are not cached. */
    async revoke(listingId: string, id: string, actor: Actor): Promise<IvrSystemView> {
      return db.transaction(async (tx) => {
        const existing = await findSystem(tx, listingId, id, { forUpdate: true });
        if (!existing) throw new AppError('not_found', `IVR system ${id} not found`);
        if (existing.revokedAt) throw new AppError('ivr_system_revoked', `IVR system ${id} was revoked at ${existing.revokedAt.toISOString()}`);
        const revoked = (await markRevoked(tx, listingId, id))!;
        await appendEvent(tx, {
          listingId,
          name: EventNames.ivrSystemRevoked,
          aggregateType: 'ivr_system',
          aggregateId: id,
          payload: {},
          actor,
        });
        return toView(revoked);
      });
    },

    /** Verifies HTTP Basic credentials of an IVR system; any failure is the same 401. */
    async authenticate(authorization: string | undefined): Promise<IvrCaller> {
      const credentials = parseBasicAuth(authorization);
      const record = credentials && USERNAME.test(credentials.username) ? await findSystemByUsername(db, credentials.username) : undefined;
      const presented = sha256(credentials?.password ?? '');
      const stored = record ? Buffer.from(record.secretHash, 'hex') : decoyHash;
      const matches = stored.length === presented.length && timingSafeEqual(presented, stored);
      if (!record || !matches || record.revokedAt) {
        throw new AppError('unauthorized', 'Send the credentials of an active IVR system with HTTP Basic authentication');
      }
      return {
        systemId: record.id,
        listingId: record.listingId,
        name: record.name,
        landlinePatterns: record.landlinePatterns,
        smsTemplate: record.smsTemplate,
      };
    },

    /**
     * A caller pressed "chat": create (or reuse) their ticket and text them a chat link.
     *
     * A landline caller cannot receive the SMS, so the answer is `live_call` and no ticket is
     * created: the call goes on as a voice call, and a chat ticket nobody will open would only
     * sit in the queue and count as abandoned. The same holds when the listing has no chat
     * settings, or when the SMS provider refuses the message (a ticket created for this call is
     * then ended as abandoned; a reused open ticket is left alone).
     *
     * Ticket, link and SMS are separate transactions: the ticket service owns its own. A retry
     * after a failure in between is safe: the open ticket is reused and a fresh link is sent.
     */
    async requestChat(caller: IvrCaller, input: IvrChatRequest, origin: string): Promise<IvrChatResult> {
      if (isLandline(input.cid, caller.landlinePatterns)) return liveCall(caller, 'landline', input);
      if (!(await chatLinks.findSettings(caller.listingId))) return liveCall(caller, 'chat_not_configured', input);

      const principal = principalOf(caller);
      const displayName = [input.first_name, input.last_name].filter(Boolean).join(' ');
      const details = Object.fromEntries(
        Object.entries({ systemId: caller.systemId, dnis: input.dnis, firstName: input.first_name, lastName: input.last_name, dob: input.dob }).filter(
          ([, value]) => value !== undefined,
        ),
      );
      const { ticket, created } = await tickets.create(
        caller.listingId,
        {
          customer: { ...(displayName ? { displayName } : {}), identities: identitiesOf(input) },
          source: { app: 'ivr', channel: 'ivr' },
          metadata: { ivr: details },
        },
        principal,
      );
      const link = await chatLinks.mint(caller.listingId, ticket.id, { channel: 'sms' }, { actor: actorOf(caller), origin });
      const listing = await getListing(db, caller.listingId);
      const body = renderSmsText(caller.smsTemplate ?? DEFAULT_SMS_TEMPLATE, {
        url: link.url,
        first_name: input.first_name ?? '',
        listing: listing?.name ?? '',
        ref: ticket.ref,
      });
      const receipt = await sms.send({ listingId: caller.listingId, ticketId: ticket.id, to: input.cid, body });

      if (receipt.status === 'failed') {
        if (created) await tickets.end(caller.listingId, ticket.id, { outcome: 'abandoned', reason: 'ivr_sms_failed' }, principal);
        return liveCall(caller, 'sms_failed', input);
      }
      await recordRequest(caller, { outcome: 'sms', ticketId: ticket.id, ticketCreated: created, smsId: receipt.id, dnis: input.dnis ?? null });
      return {
        outcome: 'sms',
        ticketId: ticket.id,
        ticketRef: ticket.ref,
        ticketCreated: created,
        link: { url: link.url, expiresAt: link.expiresAt },
        sms: receipt,
      };
    },
  };
}

export type IvrService = ReturnType<typeof createIvrService>;
