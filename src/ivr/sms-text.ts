/** The text that carries the chat link to the caller's phone. */
export const smsPlaceholders = ['url', 'first_name', 'listing', 'ref'] as const;
export type SmsValues = Record<(typeof smsPlaceholders)[number], string>;

export const DEFAULT_SMS_TEMPLATE = '{listing}: no need to wait on hold, chat with us here: {url}';

const PLACEHOLDER = /\{([a-z_]+)\}/g;

export function unknownSmsPlaceholders(template: string): string[] {
  const known = new Set<string>(smsPlaceholders);
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!).filter((name) => !known.has(name));
}

/** Fills the placeholders; a greeting left without a name loses its dangling space. */
export function renderSmsText(template: string, values: SmsValues): string {
  return template
    .replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(values, name) ? values[name as keyof SmsValues] : whole))
    .replace(/ +([,.!?])/g, '$1')
    .replace(/ {2,}/g, ' ')
    .trim();
}
