import { BOOLEAN, DuckDBScalarFunction, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import type { z } from 'zod';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import { interactionEventSchema, interactionMessageSchema, interactionSchema } from './interaction.schemas.ts';
import { emptyRedactionCounts, pseudonymize, redactJson, redactText, type RedactionCounts } from './redaction.ts';

/**
 * JS functions callable from the fast path's SQL, for the rules SQL cannot express: the redaction
 * patterns need look-behind and look-ahead (DuckDB's RE2 has neither) and a Luhn check, and the
 * free-form JSON fields (meta, event data, attachments, external ids) need the zod rules and
 * JSON.stringify's exact output. They call the very functions the JS path calls, so both paths
 * store the same text. DuckDB runs them on the JS thread, a vector (up to 2,048 values) per call;
 * the SQL around them only calls them for values that can need them (`lw_maybe_pii`).
 *
 * - `lw_redact(text, count)`                   redactText
 * - `lw_pseudonym(value, listing)`             pseudonymize (memoised: ids repeat a lot)
 * - `lw_json_ok(kind, json)`                   whether a JSON-typed field passes its zod rule;
 *                                              kind: meta | data | attachment | external_ids
 * - `lw_json(kind, json, listing, redact, count)`  its value as the JS path stores it (NULL when
 *                                              the rule rejects it)
 *
 * Redaction findings are added to the handle's `counts` (which the caller points at its summary)
 * when `count` is true: a query that computes the same values twice counts them once.
 */

export interface SqlFunctions {
  counts: RedactionCounts;
}

const jsonKinds: Record<string, z.ZodType> = {
  meta: interactionMessageSchema.shape.meta.unwrap(),
  data: interactionEventSchema.shape.data.unwrap(),
  attachment: interactionMessageSchema.shape.attachment.unwrap(),
  external_ids: interactionSchema.shape.externalIds.unwrap(),
};

type Attachment = z.output<typeof interactionMessageSchema.shape.attachment>;

function parseJsonField(kind: string, text: string): { success: true; data: unknown } | { success: false } {
  const schema = jsonKinds[kind];
  if (!schema) throw new Error(`lw_json: unknown kind ${kind}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { success: false };
  }
  return schema.safeParse(value);
}

function storedJson(kind: string, text: string, listingId: string, redact: boolean, counts: RedactionCounts): string | null {
  const parsed = parseJsonField(kind, text);
  if (!parsed.success) return null;
  if (!redact) return JSON.stringify(parsed.data);
  // The same transformations as redactInteraction (redact-record.ts), field by field.
  if (kind === 'attachment') {
    const attachment = parsed.data as NonNullable<Attachment>;
    return JSON.stringify({
      ...attachment,
      ...(attachment.name !== undefined ? { name: redactText(attachment.name, counts) } : {}),
      ...(attachment.url !== undefined ? { url: redactText(attachment.url, counts) } : {}),
    });
  }
  if (kind === 'external_ids') {
    const ids = parsed.data as Record<string, string>;
    return JSON.stringify(Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, pseudonymize(id, listingId)])));
  }
  return JSON.stringify(redactJson(parsed.data, counts));
}

// Per connection: DuckDB keeps registered functions for the connection's lifetime, so they are
// registered once and their state (the counts target) lives with them.
const registered = new WeakMap<DuckDBConnection, SqlFunctions>();

const PSEUDONYM_CACHE = 50_000;

export async function useSqlFunctions(db: AnalyticsDb): Promise<SqlFunctions> {
  const existing = registered.get(db.connection);
  if (existing) return existing;
  const state: SqlFunctions = { counts: emptyRedactionCounts() };
  const connection = db.connection;
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: 'lw_redact',
      returnType: VARCHAR,
      parameterTypes: [VARCHAR, BOOLEAN],
      mainFunction: (_info, input, output) => {
        const texts = input.getColumnVector(0);
        const counting = input.getColumnVector(1);
        for (let row = 0; row < input.rowCount; row++) {
          const text = texts.getItem(row) as string | null;
          output.setItem(row, text === null ? null : redactText(text, counting.getItem(row) ? state.counts : emptyRedactionCounts()));
        }
        output.flush();
      },
    }),
  );
  const pseudonyms = new Map<string, string>();
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: 'lw_pseudonym',
      returnType: VARCHAR,
      parameterTypes: [VARCHAR, VARCHAR],
      mainFunction: (_info, input, output) => {
        const values = input.getColumnVector(0);
        const listings = input.getColumnVector(1);
        for (let row = 0; row < input.rowCount; row++) {
          const value = values.getItem(row) as string | null;
          const listingId = listings.getItem(row) as string;
          if (value === null) {
            output.setItem(row, null);
            continue;
          }
          const key = `${listingId}\u0000${value}`;
          let result = pseudonyms.get(key);
          if (result === undefined) {
            result = pseudonymize(value, listingId);
            if (pseudonyms.size >= PSEUDONYM_CACHE) pseudonyms.clear();
            pseudonyms.set(key, result);
          }
          output.setItem(row, result);
        }
        output.flush();
      },
    }),
  );
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: 'lw_json',
      returnType: VARCHAR,
      parameterTypes: [VARCHAR, VARCHAR, VARCHAR, BOOLEAN, BOOLEAN],
      mainFunction: (_info, input, output) => {
        const kinds = input.getColumnVector(0);
        const texts = input.getColumnVector(1);
        const listings = input.getColumnVector(2);
        const redacts = input.getColumnVector(3);
        const counting = input.getColumnVector(4);
        for (let row = 0; row < input.rowCount; row++) {
          const text = texts.getItem(row) as string | null;
          const counts = counting.getItem(row) ? state.counts : emptyRedactionCounts();
          output.setItem(
            row,
            text === null ? null : storedJson(kinds.getItem(row) as string, text, listings.getItem(row) as string, redacts.getItem(row) as boolean, counts),
          );
        }
        output.flush();
      },
    }),
  );
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: 'lw_json_ok',
      returnType: BOOLEAN,
      parameterTypes: [VARCHAR, VARCHAR],
      mainFunction: (_info, input, output) => {
        const kinds = input.getColumnVector(0);
        const texts = input.getColumnVector(1);
        for (let row = 0; row < input.rowCount; row++) {
          const text = texts.getItem(row) as string | null;
          output.setItem(row, text === null ? null : parseJsonField(kinds.getItem(row) as string, text).success);
        }
        output.flush();
      },
    }),
  );
  registered.set(connection, state);
  return state;
}
