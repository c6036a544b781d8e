export { generateInteraction, generateInteractions, type GenerateOptions } from './generator.ts';
export { writeGenerated, interactionsFileFor, formatFromName, type WriteOptions, type WriteSummary, type OutputFormat } from './write.ts';
export { PLANTED_EFFECTS, SALES_INTENTS } from './effects.ts';
export { DIAGNOSTIC_QUESTIONS, HESITATIONS, NEGATIVE_MARKERS, intents, type Intent } from './templates.ts';
export { createRandom, seedFor, type Random } from './random.ts';
