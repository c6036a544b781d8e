// The one seeded PRNG of the project (src/platform/random.ts), under the name models import.
export { seededRandom, shuffleInPlace } from '../platform/random.ts';
