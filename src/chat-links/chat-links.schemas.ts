import { z } from 'zod';
import { chatUrlPlaceholders, unknownPlaceholders } from './chat-url.ts';

export const DEFAULT_LINK_TTL_SECONDS = 24 * 60 * 60;
const MAX_LINK_TTL_SECONDS = 30 * 24 * 60 * 60;

const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).max(2000);
const ttlSeconds = z.number().int().min(60).max(MAX_LINK_TTL_SECONDS);

export const chatSettingsBody = z
  .object({
    chatUrlBase: httpUrl
      .refine((url) => unknownPlaceholders(url).length === 0, `placeholders may only be ${chatUrlPlaceholders.map((name) => `{${name}}`).join(', ')}`)
      .describe(
        `The chat session page. Either a template using ${chatUrlPlaceholders.map((name) => `{${name}}`).join(', ')} ` +
          '(e.g. https://chat.acme.com/s/{ticketId}), or a plain URL that gets them as query parameters',
      ),
    shortUrlBase: httpUrl
      .refine((url) => !/[?#]/.test(url), 'no query or fragment: /c/{code} is appended')
      .nullable()
      .default(null)
      .describe('Public origin serving GET /c/{code}, e.g. https://go.acme.com; null → the origin the API was called on'),
    linkTtlSeconds: ttlSeconds.default(DEFAULT_LINK_TTL_SECONDS).describe('How long a new link works'),
  })
  .strict();

export const chatSettingsView = z.object({
  listingId: z.string(),
  chatUrlBase: z.string(),
  shortUrlBase: z.string().nullable(),
  linkTtlSeconds: z.number(),
  updatedAt: z.date(),
});

export const linkChannels = ['sms', 'email', 'social', 'app', 'website', 'ivr', 'bot', 'livechat', 'other'] as const;

export const createChatLinkBody = z
  .object({
    channel: z.enum(linkChannels).describe('Where the link will be embedded'),
    ttlSeconds: ttlSeconds.optional().describe("Overrides the listing's linkTtlSeconds for this link"),
  })
  .strict();

export const chatLinkView = z.object({
  code: z.string(),
  url: z.string().describe('The short link to send: GET it to reach the chat session'),
  listingId: z.string(),
  ticketId: z.string(),
  customerId: z.string(),
  channel: z.string(),
  targetUrl: z.string().describe('Where the short link redirects'),
  createdAt: z.date(),
  expiresAt: z.date(),
  openCount: z.number(),
  firstOpenedAt: z.date().nullable(),
  lastOpenedAt: z.date().nullable(),
});

export const linkCodeParams = z.object({ code: z.string().max(64) });

export type ChatSettingsInput = z.input<typeof chatSettingsBody>;
export type ChatSettingsView = z.output<typeof chatSettingsView>;
export type CreateChatLinkInput = z.output<typeof createChatLinkBody>;
export type LinkChannel = (typeof linkChannels)[number];
export type ChatLinkView = z.output<typeof chatLinkView>;
