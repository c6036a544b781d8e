import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import { AppError, type Database } from '../platform/index.ts';
import { automatedMessagesBody, type AutomatedMessagesInput, type AutomatedMessagesView } from './automation.schemas.ts';
import { inactivityKey, readAutomatedMessages, replaceAutomatedMessages, type AutomatedKind, type AutomatedMessageRow } from './automation.store.ts';

function toView(rows: readonly AutomatedMessageRow[]): AutomatedMessagesView {
  const text = (kind: AutomatedKind) => {
    const row = rows.find((candidate) => candidate.kind === kind);
    return row ? { text: row.text } : null;
  };
  const updated = rows.map((row) => row.updated_at.getTime());
  return {
    welcome: text('welcome'),
    inactivity: rows
      .filter((row) => row.kind === 'inactivity')
      .map((row) => ({ afterMinutes: row.after_minutes!, text: row.text }))
      .sort((a, b) => a.afterMinutes - b.afterMinutes),
    offline: text('offline'),
    afterHours: text('after_hours'),
    updatedAt: updated.length > 0 ? new Date(Math.max(...updated)) : null,
  };
}

/** "{name}" → the name; without one, the placeholder goes with the space before it ("Hi {name}," → "Hi,"). */
export function renderWelcome(template: string, name: string | undefined): string {
  return name === undefined ? template.replace(/ ?\{name\}/g, '') : template.replaceAll('{name}', () => name);
}

/** The listing's automated-message texts: read and replaced as one set. */
export function createAutomatedMessageService({ db }: { db: Database }) {
  async function ensureListing(listingId: string) {
    const { rowCount } = await db.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
    if (rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
  }

  return {
    async get(listingId: string): Promise<AutomatedMessagesView> {
      await ensureListing(listingId);
      return toView(await readAutomatedMessages(db, listingId));
    },

    async put(listingId: string, rawInput: AutomatedMessagesInput, actor?: Actor): Promise<AutomatedMessagesView> {
      const input = automatedMessagesBody.parse(rawInput);
      const rows: Array<{ key: string; kind: AutomatedKind; afterMinutes: number | null; text: string }> = [];
      if (input.welcome) rows.push({ key: 'welcome', kind: 'welcome', afterMinutes: null, text: input.welcome.text });
      if (input.offline) rows.push({ key: 'offline', kind: 'offline', afterMinutes: null, text: input.offline.text });
      if (input.afterHours) rows.push({ key: 'after_hours', kind: 'after_hours', afterMinutes: null, text: input.afterHours.text });
      for (const message of input.inactivity) {
        rows.push({ key: inactivityKey(message.afterMinutes), kind: 'inactivity', afterMinutes: message.afterMinutes, text: message.text });
      }
      await db.transaction(async (tx) => {
        const { rowCount } = await tx.query('SELECT 1 FROM listings WHERE id = $1 FOR UPDATE', [listingId]);
        if (rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
        await replaceAutomatedMessages(tx, listingId, rows);
        await appendEvent(tx, {
          listingId,
          name: EventNames.automatedMessagesUpdated,
          aggregateType: 'listing',
          aggregateId: listingId,
          payload: { keys: rows.map((row) => row.key) },
          ...(actor ? { actor } : {}),
        });
      });
      return toView(await readAutomatedMessages(db, listingId));
    },

    /** The welcome text for a chat client about to open a ticket; null when none is set. */
    async welcome(listingId: string, name?: string): Promise<{ text: string | null }> {
      await ensureListing(listingId);
      const row = (await readAutomatedMessages(db, listingId)).find((candidate) => candidate.kind === 'welcome');
      return { text: row ? renderWelcome(row.text, name) : null };
    },
  };
}

export type AutomatedMessageService = ReturnType<typeof createAutomatedMessageService>;
