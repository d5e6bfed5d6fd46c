import { Command, InvalidArgumentError } from 'commander'
import { startSluice } from '../server.js'

function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be an integer between 0 and 65535.')
  return port
}

/** `sluice serve`: the Config API server on the embedded store, until SIGINT/SIGTERM. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('start the Config API server (Airbyte-compatible, /api/v1) on the embedded SQLite store')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort, 8001)
    .option('--data-dir <dir>', 'data directory (default: $SLUICE_DATA_DIR or ./.sluice)')
    .option('--database-url <url>', 'shared PostgreSQL store for scale-out (default: $SLUICE_DATABASE_URL; unset: embedded SQLite)')
    .option('--no-worker', 'API and scheduler only: jobs run in `sluice worker` processes')
    .action(async (opts: { host: string; port: number; dataDir?: string; databaseUrl?: string; worker: boolean }) => {
      const running = await startSluice({
        host: opts.host,
        port: opts.port,
        worker: opts.worker,
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
        ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
      })
      let stopping = false
      const stop = (): void => {
        if (stopping) return
        stopping = true
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        )
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      // Machine-readable line on stdout so scripts can pick up the port when --port 0 is used;
      // written after the signal handlers exist, so a caller may stop us as soon as it reads it.
      process.stdout.write(`sluice listening on ${running.url} (data dir ${running.dataDir})\n`)
    })
}
