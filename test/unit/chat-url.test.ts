import { describe, expect, it } from 'vitest';
import { buildChatTarget, chatSettingsBody, linkCodePattern, newLinkCode, shortLinkUrl, unknownPlaceholders } from '../../src/chat-links/index.ts';

const values = { ticketId: 't-1', customerId: 'c/2', ref: 'ACME-000007', channel: 'sms' };

describe('chat target URLs', () => {
  it('fill a template, URL-encoding the values', () => {
    expect(buildChatTarget('https://chat.example.com/s/{ticketId}?c={customerId}', values)).toBe('https://chat.example.com/s/t-1?c=c%2F2');
  });

  it('append every value as a query parameter to a plain URL, keeping its own parameters', () => {
    const url = new URL(buildChatTarget('https://chat.example.com/start?lang=de', values));
    expect(Object.fromEntries(url.searchParams)).toEqual({ lang: 'de', ticketId: 't-1', customerId: 'c/2', ref: 'ACME-000007', channel: 'sms' });
  });

  it('name placeholders the settings must refuse', () => {
    expect(unknownPlaceholders('https://x/{ticketId}/{token}')).toEqual(['token']);
    expect(chatSettingsBody.safeParse({ chatUrlBase: 'https://x/{token}' }).success).toBe(false);
    expect(chatSettingsBody.parse({ chatUrlBase: 'https://x/{ref}' })).toEqual({ chatUrlBase: 'https://x/{ref}', shortUrlBase: null, linkTtlSeconds: 86_400 });
  });
});

describe('short links', () => {
  it('have 16 URL-safe characters (96 bits) and do not repeat', () => {
    const codes = Array.from({ length: 2000 }, newLinkCode);
    for (const code of codes) expect(code).toMatch(linkCodePattern);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('join the base and /c/{code} with one slash', () => {
    expect(shortLinkUrl('https://go.example.com/', 'abc')).toBe('https://go.example.com/c/abc');
    expect(shortLinkUrl('https://example.com/go', 'abc')).toBe('https://example.com/go/c/abc');
  });
});
