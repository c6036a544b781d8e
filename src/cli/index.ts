export { buildCli, runCli } from './main.ts';
