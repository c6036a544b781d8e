import { seededRandom } from '../../src/platform/index.ts';

/** The draws the generator needs, on the project's seeded PRNG (mulberry32, src/platform/random.ts). */
export interface Random {
  next(): number;
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  weighted<T extends string>(weights: Readonly<Record<T, number>>): T;
  normal(): number;
}

/** Mixes the run's seed with a conversation index: each conversation has its own stream. */
export function seedFor(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function createRandom(seed: number): Random {
  const next = seededRandom(seed);
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    weighted(weights) {
      const entries = Object.entries(weights) as Array<[keyof typeof weights, number]>;
      let total = 0;
      for (const [, weight] of entries) total += weight;
      let draw = next() * total;
      for (const [name, weight] of entries) {
        draw -= weight;
        if (draw < 0) return name;
      }
      return entries[entries.length - 1]![0];
    },
    normal() {
      // Box–Muller; 1 − u avoids log(0).
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}
