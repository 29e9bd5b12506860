#!/usr/bin/env node
/**
 * The `nestjs-fief` command: `npx nestjs-fief dev-server [options]`. Mistakes in the command line
 * or its files get a one-line message and exit code 2, never a stack trace.
 */
import { DEV_SERVER_HELP, parseDevServerArgs, runDevServer, UsageError } from './dev-server-command.js';

const HELP = `Usage: nestjs-fief <command> [options]

Commands:
  dev-server   start the embedded Fief dev server (nestjs-fief dev-server --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'dev-server') throw new UsageError(`unknown command ${JSON.stringify(command)}; try nestjs-fief --help`);
  const parsed = await parseDevServerArgs(rest);
  if (parsed === 'help') {
    process.stdout.write(DEV_SERVER_HELP);
    return 0;
  }
  await runDevServer(parsed, (text) => process.stdout.write(`${text}\n`));
  process.stdout.write('Fief dev server stopped.\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`nestjs-fief: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`nestjs-fief: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
