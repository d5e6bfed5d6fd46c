import { Command } from 'commander'
import { sluiceVersion } from '../api/version.js'
import { isSluiceError } from '../errors.js'
import { connectorCommand } from './connector-command.js'
import { connectorsCommand } from './connectors-command.js'
import { serveCommand } from './serve-command.js'
import { syncCommand } from './sync-command.js'
import { workerCommand } from './worker-command.js'

/** Every CLI command; add yours with one import and one entry. */
const COMMANDS: Array<() => Command> = [serveCommand, workerCommand, syncCommand, connectorsCommand, connectorCommand]

/** Builds the `sluice` program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('sluice: an open-source ELT server speaking the Airbyte Config API')
    .version(sluiceVersion(), '-v, --version', 'print the version')
  for (const command of COMMANDS) program.addCommand(command())
  return program
}

/** CLI entry point (bin/sluice.js). Errors are printed without a stack; exit code 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv)
  } catch (e) {
    const message = isSluiceError(e) ? `${e.code}: ${e.message}` : (e as Error).message
    process.stderr.write(`sluice: ${message}\n`)
    process.exitCode = 1
  }
}
