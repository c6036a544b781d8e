import { randomToken } from '../platform/index.ts';

/**
 * Pure helpers for chat-session URLs and their short links, kept apart from the service so the
 * URL rules can be tested without a database.
 */
export const chatUrlPlaceholders = ['ticketId', 'customerId', 'ref', 'channel'] as const;
export type ChatUrlValues = Record<(typeof chatUrlPlaceholders)[number], string>;

const PLACEHOLDER = /\{([A-Za-z]+)\}/g;

/** Placeholders a template uses that are not ones this module fills in. */
export function unknownPlaceholders(template: string): string[] {
  const known = new Set<string>(chatUrlPlaceholders);
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!).filter((name) => !known.has(name));
}

/**
 * The chat-session URL for one ticket. A template with placeholders
 * (`https://chat.acme.com/s/{ticketId}`) gets them filled in, URL-encoded; a plain base URL gets
 * them as query parameters, so a listing can start with just its chat page's address.
 */
export function buildChatTarget(template: string, values: ChatUrlValues): string {
  if (template.match(PLACEHOLDER)) {
    return template.replace(PLACEHOLDER, (whole, name: string) =>
      Object.hasOwn(values, name) ? encodeURIComponent(values[name as keyof ChatUrlValues]) : whole,
    );
  }
  const url = new URL(template);
  for (const name of chatUrlPlaceholders) url.searchParams.set(name, values[name]);
  return url.toString();
}

/** 12 random bytes → 16 URL-safe characters: 96 bits, far past guessing over HTTP. */
export const LINK_CODE_BYTES = 12;
export const linkCodePattern = /^[A-Za-z0-9_-]{16}$/;
export const newLinkCode = (): string => randomToken(LINK_CODE_BYTES);

/** `https://go.acme.com/` + code → `https://go.acme.com/c/<code>`. */
export function shortLinkUrl(base: string, code: string): string {
  return `${base.replace(/\/+$/, '')}/c/${code}`;
}
