import { spawn } from 'node:child_process'

/**
 * Runs a probe command (an exec-form HEALTHCHECK or Kubernetes exec probe: `node -e <script>`)
 * with the health URL's port rewritten to `port`, and resolves its exit code. The script is the
 * one the image or manifest ships, so what passes here is what the container would run.
 */
export function runProbe(command: readonly string[], defaultPort: number, port: number): Promise<number> {
  const [file, ...args] = command
  if (file !== 'node') throw new Error(`probe does not start with node: ${command.join(' ')}`)
  const rewritten = args.map((a) => a.replaceAll(`127.0.0.1:${defaultPort}/`, `127.0.0.1:${port}/`))
  if (rewritten.join(' ') === args.join(' ')) throw new Error(`probe does not call 127.0.0.1:${defaultPort}: ${command.join(' ')}`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, rewritten, { stdio: 'ignore' })
    child.on('error', reject)
    child.on('exit', (code) => resolve(code ?? -1))
  })
}
