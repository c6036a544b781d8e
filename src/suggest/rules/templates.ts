/**
 * Reply texts with variables: `{{customer.first_name}}`, or with a fallback for when the value is
 * unknown, `{{customer.first_name | there}}`. The variable names are a closed list, checked when a
 * rule is saved, so a typo is a 400 at authoring time instead of a blank in front of a customer.
 */
export const templateVariables = ['customer.name', 'customer.first_name', 'csr.name', 'csr.first_name', 'listing.name', 'ticket.ref'] as const;
export type TemplateVariable = (typeof templateVariables)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

const known: ReadonlySet<string> = new Set(templateVariables);
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

export type TemplatePart = string | { name: TemplateVariable; fallback: string | undefined };

function parsePlaceholder(inner: string): { name: string; fallback: string | undefined } {
  const bar = inner.indexOf('|');
  if (bar < 0) return { name: inner.trim(), fallback: undefined };
  return { name: inner.slice(0, bar).trim(), fallback: inner.slice(bar + 1).trim() };
}

/** What is wrong with a template (empty: nothing). */
export function templateProblems(text: string): string[] {
  const problems: string[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    const { name } = parsePlaceholder(match[1]!);
    if (!known.has(name)) problems.push(`unknown variable {{${name}}}; known: ${templateVariables.join(', ')}`);
  }
  const rest = text.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) problems.push('unbalanced "{{" or "}}": write a variable as {{customer.name}}');
  return problems;
}

/** Splits a checked template into literal text and variables, once, when a rule set is compiled. */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    const { name, fallback } = parsePlaceholder(match[1]!);
    // Unknown names never get here (templateProblems rejects them); keep them literal if they do.
    parts.push(known.has(name) ? { name: name as TemplateVariable, fallback } : match[0]);
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** The text with values filled in; `missing` names variables with neither a value nor a fallback. */
export function renderTemplate(parts: readonly TemplatePart[], values: TemplateValues): { text: string; missing: TemplateVariable[] } {
  let text = '';
  const missing: TemplateVariable[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      text += part;
      continue;
    }
    const value = values[part.name];
    if (value !== undefined && value !== '') text += value;
    else if (part.fallback !== undefined) text += part.fallback;
    else missing.push(part.name);
  }
  return { text, missing };
}

/** Values derived from the ones given: first names from full names. */
export function templateValues(input: { customerName?: string | undefined; csrName?: string | undefined; listingName?: string | undefined; ticketRef?: string | undefined }): TemplateValues {
  const firstWord = (name: string | undefined) => name?.trim().split(/\s+/)[0];
  const values: TemplateValues = {};
  if (input.customerName) {
    values['customer.name'] = input.customerName;
    values['customer.first_name'] = firstWord(input.customerName)!;
  }
  if (input.csrName) {
    values['csr.name'] = input.csrName;
    values['csr.first_name'] = firstWord(input.csrName)!;
  }
  if (input.listingName) values['listing.name'] = input.listingName;
  if (input.ticketRef) values['ticket.ref'] = input.ticketRef;
  return values;
}
