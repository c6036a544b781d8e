export { findStickyCsr, skillsCover } from './routing.ts';
