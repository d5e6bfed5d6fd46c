import { existsSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after } from 'node:test'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type {
  ConfiguredCatalog,
  RecordData,
  RunOptions,
  Source,
  SourceMessage,
  StateMessage,
  SyncMode,
} from '../../../../src/protocol/index.js'

/** One request the mock API received. `host` is the public host the manifest addressed. */
export interface MockRequest {
  method: string
  host: string
  path: string
  query: URLSearchParams
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface MockReply {
  status?: number
  headers?: Record<string, string>
  /** A string or a Buffer is sent as is; anything else as JSON. */
  body?: unknown
  /** Delay before answering, ms. */
  delayMs?: number
}

export type MockHandler = (req: MockRequest) => MockReply | Promise<MockReply>

export interface MockApi {
  origin: string
  requests: MockRequest[]
  /** Maps `https://host/path` to `http://127.0.0.1:port/host/path`; loopback URLs pass through. */
  rewriteUrl(url: string): string
  close(): Promise<void>
}

/** A loopback HTTP server standing in for public APIs (origins are rewritten into the path). */
export async function startMockApi(handler: MockHandler): Promise<MockApi> {
  const requests: MockRequest[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void (async () => {
        const u = new URL(req.url ?? '/', 'http://x')
        const parts = u.pathname.split('/')
        const host = parts[1] ?? ''
        const mr: MockRequest = { method: req.method ?? 'GET', host, path: `/${parts.slice(2).join('/')}`, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
        requests.push(mr)
        try {
          const reply = await handler(mr)
          if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs))
          const raw = typeof reply.body === 'string' || Buffer.isBuffer(reply.body)
          const body = raw ? (reply.body as string | Buffer) : JSON.stringify(reply.body ?? {})
          res.writeHead(reply.status ?? 200, { 'content-type': raw ? 'text/plain' : 'application/json', ...reply.headers })
          res.end(body)
        } catch (e) {
          res.writeHead(599)
          res.end(String(e))
        }
      })()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const origin = `http://127.0.0.1:${port}`
  return {
    origin,
    requests,
    rewriteUrl: (url) => {
      if (url.startsWith(origin)) return url
      const u = new URL(url)
      return `${origin}/${u.host}${u.pathname}${u.search}`
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Run options with a logger that keeps lines (for assertions) and an optional signal. */
export function runOptions(signal: AbortSignal = new AbortController().signal): RunOptions & { lines: string[] } {
  const lines: string[] = []
  const log = (level: string) => (m: string) => {
    lines.push(`${level}: ${m}`)
  }
  return { signal, logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }, context: { dataDir: '/tmp', localFilesRoot: '/tmp' }, lines }
}

/** A configured catalog for the named streams. */
export function catalogFor(names: string[], syncMode: SyncMode = 'full_refresh'): ConfiguredCatalog {
  return {
    streams: names.map((name) => ({
      stream: { name, jsonSchema: {}, supportedSyncModes: ['full_refresh', 'incremental'] },
      syncMode,
      destinationSyncMode: 'append',
      cursorField: [],
      primaryKey: [],
      syncId: 1,
      generationId: 1,
      minimumGenerationId: 0,
    })),
  }
}

/** Reads everything (fine in tests: small outputs). */
export async function readAll(source: Source, config: Record<string, unknown>, catalog: ConfiguredCatalog, state: StateMessage[] = [], opts = runOptions()): Promise<{ records: Record<string, RecordData[]>; states: StateMessage[]; messages: SourceMessage[] }> {
  const records: Record<string, RecordData[]> = {}
  const states: StateMessage[] = []
  const messages: SourceMessage[] = []
  for await (const m of source.read(config, catalog, state, opts)) {
    messages.push(m)
    if (m.type === 'RECORD_BATCH') (records[m.stream.name] ??= []).push(...m.rows())
    else if (m.type === 'STATE') states.push(m)
  }
  return { records, states, messages }
}

/** The repository root (the folder holding package.json), from test/ or dist/test/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('package.json not found')
    dir = up
  }
  return dir
}

/**
 * The folder of the shared Airbyte manifests: `shared/airbyte-manifests` beside the checkout, or
 * beside one of its parents (a git worktree sits one level deeper than the main checkout).
 */
function sharedManifestDir(): string {
  let dir = dirname(repoRoot())
  for (;;) {
    const candidate = join(dir, 'shared', 'airbyte-manifests')
    if (existsSync(candidate)) return candidate
    const up = dirname(dir)
    if (up === dir) throw new Error('shared/airbyte-manifests not found beside the checkout or its parents')
    dir = up
  }
}

/** Text of one of the shared Airbyte manifests (read in place, never copied). */
export function airbyteManifest(name: string): string {
  return readFileSync(join(sharedManifestDir(), `${name}.yaml`), 'utf8')
}

/** `mock(handler)` for one test file: every server it starts is closed after the file's tests. */
export function mockServers(): (handler: MockHandler) => Promise<MockApi> {
  const servers: MockApi[] = []
  after(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })
  return async (handler) => {
    const s = await startMockApi(handler)
    servers.push(s)
    return s
  }
}
