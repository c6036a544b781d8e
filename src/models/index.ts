export { rocAuc } from './metrics.ts';
