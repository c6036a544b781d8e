import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import { AppError, type Clock, type Database } from '../platform/index.ts';
import { findTicket } from '../tickets/index.ts';
import {
  chatSettingsBody,
  type ChatLinkView,
  type ChatSettingsInput,
  type ChatSettingsView,
  type CreateChatLinkInput,
} from './chat-links.schemas.ts';
import { findLink, findSettings, insertLink, listLinksOfTicket, markOpened, toLinkView, upsertSettings } from './chat-links.store.ts';
import { buildChatTarget, linkCodePattern, newLinkCode, shortLinkUrl } from './chat-url.ts';

export interface ChatLinkServiceDeps {
  db: Database;
  clock: Clock;
}

export interface MintContext {
  actor: Actor;
  /** The origin the API was reached on; short links use it when the listing names no shortUrlBase. */
  origin: string;
}

/** A collision of 96 random bits is not expected in the life of the system; a few draws is plenty. */
const CODE_ATTEMPTS = 3;

export function createChatLinkService({ db, clock }: ChatLinkServiceDeps) {
  return {
    findSettings: (listingId: string): Promise<ChatSettingsView | undefined> => findSettings(db, listingId),

    async getSettings(listingId: string): Promise<ChatSettingsView> {
      const settings = await findSettings(db, listingId);
      if (!settings) throw new AppError('not_found', 'This listing has no chat settings yet; PUT /v1/listing/chat-settings');
      return settings;
    },

    /** Replaces the listing's chat settings; links already minted keep their target and expiry. */
    async putSettings(listingId: string, rawInput: ChatSettingsInput, actor: Actor): Promise<ChatSettingsView> {
      const input = chatSettingsBody.parse(rawInput);
      return db.transaction(async (tx) => {
        const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
        if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
        const settings = await upsertSettings(tx, listingId, input);
        await appendEvent(tx, {
          listingId,
          name: EventNames.chatSettingsUpdated,
          aggregateType: 'listing',
          aggregateId: listingId,
          payload: { ...input },
          actor,
        });
        return settings;
      });
    },

    /**
     * Mints a short link to the chat session of an open ticket, for any channel. The target URL
     * is fixed now, so a link means what it meant when it was sent even if settings change.
     */
    async mint(listingId: string, ticketId: string, input: CreateChatLinkInput, context: MintContext): Promise<ChatLinkView> {
      return db.transaction(async (tx) => {
        const ticket = await findTicket(tx, listingId, ticketId);
        if (!ticket) throw new AppError('not_found', `Ticket ${ticketId} not found`);
        if (ticket.status !== 'waiting' && ticket.status !== 'assigned') {
          throw new AppError('ticket_closed', `Ticket ${ticket.ref} has ended (${ticket.status})`);
        }
        const settings = await findSettings(tx, listingId);
        if (!settings) throw new AppError('chat_not_configured', 'Set chatUrlBase with PUT /v1/listing/chat-settings first');
        const createdAt = clock.now();
        const expiresAt = new Date(createdAt.getTime() + (input.ttlSeconds ?? settings.linkTtlSeconds) * 1000);
        const targetUrl = buildChatTarget(settings.chatUrlBase, {
          ticketId: ticket.id,
          customerId: ticket.customer_id,
          ref: ticket.ref,
          channel: input.channel,
        });
        for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
          const code = newLinkCode();
          const row = await insertLink(tx, {
            code,
            listing_id: listingId,
            ticket_id: ticket.id,
            customer_id: ticket.customer_id,
            channel: input.channel,
            url: shortLinkUrl(settings.shortUrlBase ?? context.origin, code),
            target_url: targetUrl,
            created_at: createdAt,
            expires_at: expiresAt,
            created_by: context.actor,
          });
          if (!row) continue;
          // The code is a bearer capability: events are read widely, so they never carry it.
          await appendEvent(tx, {
            listingId,
            name: EventNames.chatLinkCreated,
            aggregateType: 'ticket',
            aggregateId: ticket.id,
            payload: { channel: input.channel, expiresAt: expiresAt.toISOString() },
            actor: context.actor,
          });
          return toLinkView(row);
        }
        throw new Error(`No free chat-link code after ${CODE_ATTEMPTS} draws`);
      });
    },

    async listForTicket(listingId: string, ticketId: string): Promise<ChatLinkView[]> {
      const ticket = await findTicket(db, listingId, ticketId);
      if (!ticket) throw new AppError('not_found', `Ticket ${ticketId} not found`);
      return (await listLinksOfTicket(db, listingId, ticketId)).map(toLinkView);
    },

    /** Resolves a public short link to its chat session; the first open is a domain event. */
    async open(code: string): Promise<{ location: string }> {
      if (!linkCodePattern.test(code)) throw new AppError('not_found', 'No such link');
      return db.transaction(async (tx) => {
        const row = await markOpened(tx, code, clock.now());
        if (!row) {
          if (await findLink(tx, code)) throw new AppError('link_expired', 'This chat link has expired; ask for a new one');
          throw new AppError('not_found', 'No such link');
        }
        if (row.open_count === 1) {
          await appendEvent(tx, {
            listingId: row.listing_id,
            name: EventNames.chatLinkOpened,
            aggregateType: 'ticket',
            aggregateId: row.ticket_id,
            payload: { channel: row.channel },
          });
        }
        return { location: row.target_url };
      });
    },
  };
}

export type ChatLinkService = ReturnType<typeof createChatLinkService>;
