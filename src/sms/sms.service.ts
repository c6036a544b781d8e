import type { Database } from '../platform/index.ts';
import type { ListSmsQuery, SmsView } from './sms.schemas.ts';
import { listSms } from './sms.store.ts';

/** Read access to the SMS outbox, for managers checking what was sent to whom. */
export function createSmsService({ db }: { db: Database }) {
  return {
    list: (listingId: string, query: ListSmsQuery): Promise<SmsView[]> => listSms(db, listingId, query),
  };
}

export type SmsService = ReturnType<typeof createSmsService>;
