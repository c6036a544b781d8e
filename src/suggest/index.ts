// The suggestion engine (src/suggest): keyword AI rules and the suggestion log here; retrieval and
// ranked replies in ./replies.
export * from './rules/index.ts';
export * from './log/index.ts';
export * from './replies/index.ts';
