import { describe, expect, it } from 'vitest';
import { ivrChatRequestBody, isLandline, matchesLandlinePattern, parseBasicAuth, renderSmsText } from '../../src/ivr/index.ts';

describe('landline patterns', () => {
  it('match as prefixes, with X for any digit', () => {
    expect(matchesLandlinePattern('+18005550100', '+1800')).toBe(true);
    expect(matchesLandlinePattern('+18015550100', '+1800')).toBe(false);
    expect(matchesLandlinePattern('+493012345', '+4930XXX')).toBe(true);
    expect(matchesLandlinePattern('+4930123', '+4930XXXX')).toBe(false); // shorter than the pattern
    expect(matchesLandlinePattern('+4410200', '+44X0')).toBe(true);
    expect(matchesLandlinePattern('+447700900123', '+44X0')).toBe(false);
  });

  it('make a caller a landline when any pattern matches', () => {
    expect(isLandline('+14155550100', [])).toBe(false);
    expect(isLandline('+14155550100', ['+1800', '+1415'])).toBe(true);
  });
});

describe('HTTP Basic parsing', () => {
  const encode = (value: string) => Buffer.from(value, 'utf8').toString('base64');

  it('reads username and password, the password may contain colons', () => {
    expect(parseBasicAuth(`Basic ${encode('ivr_1:p:a:ss')}`)).toEqual({ username: 'ivr_1', password: 'p:a:ss' });
    expect(parseBasicAuth(`basic   ${encode('u:')}`)).toEqual({ username: 'u', password: '' });
  });

  it('treats anything malformed as no credentials', () => {
    for (const header of [undefined, '', 'Bearer abc', 'Basic', 'Basic !!!', `Basic ${encode('no-colon')}`, `Basic ${encode(':only-password')}`]) {
      expect(parseBasicAuth(header), String(header)).toBeUndefined();
    }
  });
});

describe('SMS text', () => {
  it('fills placeholders and tidies a greeting without a name', () => {
    const values = { url: 'https://go.example.com/c/abc', first_name: '', listing: 'Acme', ref: 'ACME-000001' };
    expect(renderSmsText('Hi {first_name}, chat with {listing}: {url}', values)).toBe('Hi, chat with Acme: https://go.example.com/c/abc');
    expect(renderSmsText('Hi {first_name}! {url}', { ...values, first_name: 'Ada' })).toBe('Hi Ada! https://go.example.com/c/abc');
    expect(renderSmsText('{ref} {unknown} {url}', values)).toBe('ACME-000001 {unknown} https://go.example.com/c/abc');
  });
});

describe('IVR request body', () => {
  it('normalises the caller id and e-mail, and drops empty optional fields', () => {
    const parsed = ivrChatRequestBody.parse({ cid: '+1 (415) 555-0100', email: 'A@B.COM', first_name: '', dob: '1970-01-01' });
    expect(parsed).toEqual({ cid: '+14155550100', email: 'a@b.com', first_name: undefined, dob: '1970-01-01' });
  });

  it('requires a valid caller id and rejects impossible dates', () => {
    expect(ivrChatRequestBody.safeParse({}).success).toBe(false);
    expect(ivrChatRequestBody.safeParse({ cid: '4155550100' }).success).toBe(false);
    expect(ivrChatRequestBody.safeParse({ cid: '+14155550100', dob: '2001-02-29' }).success).toBe(false);
    expect(ivrChatRequestBody.safeParse({ cid: '+14155550100', dnis: 'abc' }).success).toBe(false);
  });
});
