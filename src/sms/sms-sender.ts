import { newId, type Database } from '../platform/index.ts';
import type { SmsStatus } from './sms.schemas.ts';
import { insertSms, markSms } from './sms.store.ts';

export interface OutgoingSms {
  listingId: string;
  ticketId: string | null;
  /** E.164 destination. */
  to: string;
  body: string;
}

export interface SmsReceipt {
  id: string;
  status: SmsStatus;
}

/**
 * How Loopwise sends a text message. Callers only learn whether it was accepted; every
 * implementation keeps the message in the outbox table, so there is one record of all SMS.
 */
export interface SmsSender {
  send(sms: OutgoingSms): Promise<SmsReceipt>;
}

/** A gateway that really delivers text messages (an HTTP SMS API, an SMPP bridge, …). */
export interface SmsProvider {
  readonly name: string;
  /** Resolves with the provider's message id; rejects when the provider refused the message. */
  deliver(message: { to: string; body: string }): Promise<{ providerMessageId: string }>;
}

/**
 * The default: the message is queued in the outbox and nothing else happens here. Whatever
 * delivers SMS for the deployment (a gateway polling the table, a later job) reads it there.
 */
export function createOutboxSmsSender({ db }: { db: Database }): SmsSender {
  return {
    async send(sms) {
      const stored = await insertSms(db, { id: newId(), ...sms, provider: null });
      return { id: stored.id, status: stored.status };
    },
  };
}

const MAX_ERROR_LENGTH = 500;

/**
 * Queues in the outbox first, then hands the message to the provider and records its answer.
 * Queuing first means a crash mid-delivery still leaves a `queued` row to reconcile instead of
 * an SMS that went out with no record. A refusal is a receipt with status `failed`, not a
 * throw: the caller decides what the customer gets instead.
 */
export function createProviderSmsSender({ db, provider }: { db: Database; provider: SmsProvider }): SmsSender {
  return {
    async send(sms) {
      const queued = await insertSms(db, { id: newId(), ...sms, provider: provider.name });
      try {
        const { providerMessageId } = await provider.deliver({ to: sms.to, body: sms.body });
        await markSms(db, sms.listingId, queued.id, { status: 'sent', providerMessageId });
        return { id: queued.id, status: 'sent' };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await markSms(db, sms.listingId, queued.id, { status: 'failed', error: message.slice(0, MAX_ERROR_LENGTH) });
        return { id: queued.id, status: 'failed' };
      }
    },
  };
}
