import type { Command } from 'commander';

/**
 * The `loopwise eval …` command group, shared by the commands that evaluate models offline
 * (`eval suggest` in suggest.command.ts, `eval satisfaction` and others in their own files):
 * whichever registers first creates it, the others add their subcommands to it.
 */
export function evalGroup(program: Command): Command {
  return (
    program.commands.find((command) => command.name() === 'eval') ??
    program.command('eval').description('offline evaluation of models on a data file (cross-validated in a scratch analytics store; nothing is saved)')
  );
}
