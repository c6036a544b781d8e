import type { Actor } from '../events/index.ts';
import type { Queryable } from '../platform/index.ts';
import type { ChatLinkView, ChatSettingsView } from './chat-links.schemas.ts';

interface SettingsRow {
  listing_id: string;
  chat_url_base: string;
  short_url_base: string | null;
  link_ttl_seconds: number;
  updated_at: Date;
}

const toSettingsView = (row: SettingsRow): ChatSettingsView => ({
  listingId: row.listing_id,
  chatUrlBase: row.chat_url_base,
  shortUrlBase: row.short_url_base,
  linkTtlSeconds: row.link_ttl_seconds,
  updatedAt: row.updated_at,
});

export interface LinkRow {
  code: string;
  listing_id: string;
  ticket_id: string;
  customer_id: string;
  channel: string;
  url: string;
  target_url: string;
  created_at: Date;
  expires_at: Date;
  open_count: number;
  first_opened_at: Date | null;
  last_opened_at: Date | null;
}

export const toLinkView = (row: LinkRow): ChatLinkView => ({
  code: row.code,
  url: row.url,
  listingId: row.listing_id,
  ticketId: row.ticket_id,
  customerId: row.customer_id,
  channel: row.channel,
  targetUrl: row.target_url,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  openCount: row.open_count,
  firstOpenedAt: row.first_opened_at,
  lastOpenedAt: row.last_opened_at,
});

export async function findSettings(db: Queryable, listingId: string): Promise<ChatSettingsView | undefined> {
  const { rows } = await db.query<SettingsRow>('SELECT * FROM chat_settings WHERE listing_id = $1', [listingId]);
  return rows[0] && toSettingsView(rows[0]);
}

export async function upsertSettings(
  db: Queryable,
  listingId: string,
  settings: { chatUrlBase: string; shortUrlBase: string | null; linkTtlSeconds: number },
): Promise<ChatSettingsView> {
  const { rows } = await db.query<SettingsRow>(
    `INSERT INTO chat_settings (listing_id, chat_url_base, short_url_base, link_ttl_seconds)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (listing_id) DO UPDATE
       SET chat_url_base = EXCLUDED.chat_url_base, short_url_base = EXCLUDED.short_url_base,
           link_ttl_seconds = EXCLUDED.link_ttl_seconds, updated_at = now()
     RETURNING *`,
    [listingId, settings.chatUrlBase, settings.shortUrlBase, settings.linkTtlSeconds],
  );
  return toSettingsView(rows[0]!);
}

/** Inserts a link; undefined when the code is taken (the caller draws another). */
export async function insertLink(
  db: Queryable,
  link: Omit<LinkRow, 'open_count' | 'first_opened_at' | 'last_opened_at'> & { created_by: Actor },
): Promise<LinkRow | undefined> {
  const { rows } = await db.query<LinkRow>(
    `INSERT INTO chat_links (code, listing_id, ticket_id, customer_id, channel, url, target_url, created_at, expires_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (code) DO NOTHING RETURNING *`,
    [
      link.code,
      link.listing_id,
      link.ticket_id,
      link.customer_id,
      link.channel,
      link.url,
      link.target_url,
      link.created_at,
      link.expires_at,
      JSON.stringify(link.created_by),
    ],
  );
  return rows[0];
}

/** Counts an open of a link that has not expired at `now`; undefined when none matched. */
export async function markOpened(db: Queryable, code: string, now: Date): Promise<LinkRow | undefined> {
  const { rows } = await db.query<LinkRow>(
    `UPDATE chat_links
        SET open_count = open_count + 1, first_opened_at = COALESCE(first_opened_at, $2), last_opened_at = $2
      WHERE code = $1 AND expires_at > $2
      RETURNING *`,
    [code, now],
  );
  return rows[0];
}

export async function findLink(db: Queryable, code: string): Promise<LinkRow | undefined> {
  const { rows } = await db.query<LinkRow>('SELECT * FROM chat_links WHERE code = $1', [code]);
  return rows[0];
}

export async function listLinksOfTicket(db: Queryable, listingId: string, ticketId: string): Promise<LinkRow[]> {
  const { rows } = await db.query<LinkRow>(
    'SELECT * FROM chat_links WHERE listing_id = $1 AND ticket_id = $2 ORDER BY created_at DESC, code',
    [listingId, ticketId],
  );
  return rows;
}
