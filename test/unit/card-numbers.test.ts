import { describe, expect, it } from 'vitest';
import { luhnValid, maskCardNumbers } from '../../src/messages/index.ts';

describe('card number masking', () => {
  it('masks Luhn-valid card numbers in any common grouping', () => {
    expect(maskCardNumbers('4111111111111111')).toBe('[card ••••1111]');
    expect(maskCardNumbers('pay with 5500-0000-0000-0004 please')).toBe('pay with [card ••••0004] please');
    expect(maskCardNumbers('amex 3782 822463 10005')).toBe('amex [card ••••0005]');
  });
  it('leaves order numbers, phone numbers and short digit runs alone', () => {
    expect(maskCardNumbers('order 1234567890123 arrived')).toBe('order 1234567890123 arrived');
    expect(maskCardNumbers('call +1 415 555 0100')).toBe('call +1 415 555 0100');
    expect(maskCardNumbers('code 4242')).toBe('code 4242');
  });
  it('implements the Luhn check', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});
