import { describe, expect, it } from 'vitest';
import { emptyRedactionCounts, pseudonymize, redactText } from '../../src/ingest/index.ts';

describe('PII redaction', () => {
  it('replaces e-mail addresses, anywhere, with [email]', () => {
    const counts = emptyRedactionCounts();
    expect(redactText('my e-mail address: zekidemir089@gmail.com', counts)).toBe('my e-mail address: [email]');
    expect(redactText('report to reportphish@wellsfargo.com.')).toBe('report to [email].');
    expect(redactText('Mail First.Last+tag@sub.example.co.uk now')).toBe('Mail [email] now');
    expect(redactText('https://example.com/unsubscribe?u=jane@example.org')).toBe('https://example.com/unsubscribe?u=[email]');
    expect(counts.email).toBe(1);
  });

  it('leaves @mentions and handles alone', () => {
    expect(redactText('@RockstarSupport why isnt my gta installing?')).toBe('@RockstarSupport why isnt my gta installing?');
    expect(redactText('thanks @user123456789')).toBe('thanks @user123456789');
  });

  it('masks Luhn-valid card numbers and keeps other long numbers as accounts', () => {
    const counts = emptyRedactionCounts();
    expect(redactText('card 4111 1111 1111 1111 exp 12/29', counts)).toBe('card [card] exp 12/29');
    expect(redactText('card 4111-1111-1111-1111', counts)).toBe('card [card]');
    expect(redactText('number 4111111111111112', counts)).toBe('number [account]');
    expect(counts).toMatchObject({ card: 2, account: 1 });
  });

  it('replaces phone numbers written the usual ways', () => {
    for (const [input, expected] of [
      ['call (977) 625-2661 please', 'call [phone] please'],
      ['the phone number is 01223 812660.', 'the phone number is [phone].'],
      ['the phone number is 01223575314, it is', 'the phone number is [phone], it is'],
      ['ring +44 1223 812660', 'ring [phone]'],
      ['or +14155552671', 'or [phone]'],
      ['555-123-4567', '[phone]'],
      ['555.123.4567', '[phone]'],
    ]) {
      expect(redactText(input!)).toBe(expected);
    }
  });

  it('replaces account-like numbers and IBANs', () => {
    expect(redactText('Order ID: 3348917502')).toBe('Order ID: [account]');
    expect(redactText('ticket number to give to Mojang. 1497421950')).toBe('ticket number to give to Mojang. [account]');
    expect(redactText('IBAN DE89 3704 0044 0532 0130 00 thanks')).toBe('IBAN [account] thanks');
    expect(redactText('ref AC12345678')).toBe('ref [account]');
  });

  it('does not touch dates, times, prices, short numbers, postcodes or URLs', () => {
    const untouched = [
      'purchased on 2019-11-06 at 10:15',
      'at 2020-02-25T17:40:50.000Z',
      'The price of the ticket is $243.50, 1 stop',
      '12 x 400g tins, 2 adults and 3 kids',
      'postcode cb21ab, reference 7GAWK763, train TR1234',
      'see https://web.archive.org/web/20200401224734/https://support.google.com/youtube/answer/185111',
      'https://support.google.com/youtube/answer/9483359?visit_id=63723228341',
      'version 10.0.19041.1',
    ];
    for (const text of untouched) expect(redactText(text)).toBe(text);
  });

  it('pseudonymizes identifiers that are PII, stably per listing, and keeps plain ids', () => {
    const a = pseudonymize('Jane@Example.com', 'acme');
    expect(a).toMatch(/^pii:[0-9a-f]{24}$/);
    expect(pseudonymize(' jane@example.com', 'acme')).toBe(a);
    expect(pseudonymize('jane@example.com', 'other')).not.toBe(a);
    expect(pseudonymize('+44 1223 812660', 'acme')).toMatch(/^pii:/);
    expect(pseudonymize('crm-12345678', 'acme')).toBe('crm-12345678');
    expect(pseudonymize('twitter:tiffamy_lee', 'acme')).toBe('twitter:tiffamy_lee');
  });
});
