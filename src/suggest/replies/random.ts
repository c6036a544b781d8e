/**
 * Draws on the project's seeded PRNG (src/platform/random.ts): weight initialisation, batch order,
 * folds and the evaluation's negatives are all reproducible from a seed.
 */
export { seededRandom, shuffleInPlace } from '../../platform/random.ts';

/** Normal(0, sd) draws (Box–Muller) into a new Float32Array. */
export function normalArray(length: number, sd: number, random: () => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    const u = Math.max(random(), 1e-12);
    const v = random();
    const radius = Math.sqrt(-2 * Math.log(u)) * sd;
    out[i] = radius * Math.cos(2 * Math.PI * v);
    if (i + 1 < length) out[i + 1] = radius * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** A stable 32-bit hash of a string (FNV-1a), e.g. to assign folds by id. */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
