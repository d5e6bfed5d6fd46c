import { buildProgram } from '../../src/cli/main.js'

/** What the real `sluice` parser made of an argument list. */
export interface ParsedCli {
  command: string
  opts: Record<string, unknown>
}

/**
 * Parses `args` (what follows `sluice`) with the CLI's own commander program, with every action
 * replaced by a no-op: an unknown command or flag, a missing value or one the flag's parser
 * refuses throws, as `sluice` itself would exit 1.
 */
export async function parseCli(args: readonly string[]): Promise<ParsedCli> {
  const program = buildProgram()
  let parsed: ParsedCli | undefined
  const silent = { writeOut: () => undefined, writeErr: () => undefined }
  program.exitOverride().configureOutput(silent)
  for (const command of program.commands) {
    command.exitOverride().configureOutput(silent)
    command.action(() => {
      parsed = { command: command.name(), opts: command.opts() }
    })
  }
  await program.parseAsync(['node', 'sluice', ...args])
  if (!parsed) throw new Error(`sluice ${args.join(' ')}: no command ran`)
  return parsed
}

/** The default of a command's option, e.g. serve's --port. */
export function optionDefault(command: string, flag: string): unknown {
  const option = buildProgram()
    .commands.find((c) => c.name() === command)
    ?.options.find((o) => o.long === flag)
  if (!option) throw new Error(`sluice ${command} has no ${flag}`)
  return option.defaultValue
}
