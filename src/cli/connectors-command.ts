import { readFile } from 'node:fs/promises'
import { Command } from 'commander'
import { SluiceError } from '../errors.js'
import { AIRBYTE_REGISTRY_INDEX_URL, defaultCacheFile, loadAirbyteCatalog, searchCatalog, type CatalogEntry } from './airbyte-catalog.js'

/** Airbyte's public registry of manifest-only connectors; `airbyte:<name>` resolves under it. */
export const AIRBYTE_MANIFEST_BASE = 'https://connectors.airbyte.com/files/metadata/airbyte'

/** Where `airbyte:<name>` (or `airbyte:source-<name>`) is downloaded from. */
export function airbyteManifestUrl(name: string, base: string = AIRBYTE_MANIFEST_BASE): string {
  const connector = name.startsWith('source-') ? name : `source-${name}`
  return `${base.replace(/\/+$/, '')}/${connector}/latest/manifest.yaml`
}

/** Where the server is and how to authenticate to it. */
export interface ConnectorsClientOptions {
  /** Base URL of a running server (default SLUICE_URL or http://127.0.0.1:8001). */
  server: string
  token?: string
  fetch?: typeof fetch
}

async function post(opts: ConnectorsClientOptions, path: string, body: unknown): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  let res: Response
  try {
    res = await (opts.fetch ?? fetch)(`${opts.server.replace(/\/+$/, '')}/api/v1/${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `cannot reach the sluice server at ${opts.server} (${(e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message}); start it with \`sluice serve\` or pass --server`)
  }
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    json = { message: text }
  }
  if (!res.ok) throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `the server refused the connector (HTTP ${res.status}): ${String(json.message ?? text)}`)
  return json
}

/** Reads a manifest from a file path, an http(s) URL, or `airbyte:<name>`. */
export async function readManifestSource(ref: string, registryBase: string = AIRBYTE_MANIFEST_BASE, fetchImpl: typeof fetch = fetch): Promise<{ text: string; origin: string }> {
  const url = ref.startsWith('airbyte:') ? airbyteManifestUrl(ref.slice('airbyte:'.length), registryBase) : /^https?:\/\//i.test(ref) ? ref : undefined
  if (url) {
    let res: Response
    try {
      res = await fetchImpl(url, { signal: AbortSignal.timeout(30_000) })
    } catch (e) {
      throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `cannot download ${url}: ${(e as Error).message}`)
    }
    if (!res.ok) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `cannot download ${url}: HTTP ${res.status}`)
    return { text: await res.text(), origin: url }
  }
  try {
    return { text: await readFile(ref, 'utf8'), origin: ref }
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `cannot read ${ref}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

/**
 * `docker:airbyte/source-hubspot:4.5.1` as Airbyte's create_custom body: a destination when the
 * image's name starts with `destination-`, else a source; the name defaults to the image's.
 */
export function dockerDefinitionRequest(ref: string, name?: string, workspaceId?: string): { path: string; body: Record<string, unknown> } {
  const image = ref.slice('docker:'.length)
  const slash = image.lastIndexOf('/')
  const colon = image.lastIndexOf(':')
  const repository = colon > slash ? image.slice(0, colon) : image
  const tag = colon > slash ? image.slice(colon + 1) : 'latest'
  if (repository === '') throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `expected docker:<repository>:<tag>, got ${ref}`)
  const segment = repository.slice(slash + 1)
  const kind = segment.startsWith('destination-') ? 'destination' : 'source'
  const definition = { name: name ?? segment, dockerRepository: repository, dockerImageTag: tag, documentationUrl: '' }
  return {
    path: `${kind}_definitions/create_custom`,
    body: { ...(workspaceId ? { workspaceId } : {}), [`${kind}Definition`]: definition },
  }
}

/**
 * Adds a connector to a running server: `docker:<image>:<tag>` through
 * `source_definitions/create_custom` (or the destination one), a manifest through
 * `source_definitions/create`. Returns the definition read.
 */
export async function addConnector(ref: string, opts: ConnectorsClientOptions & { name?: string; workspaceId?: string; registryBase?: string }): Promise<Record<string, unknown>> {
  if (ref.startsWith('docker:')) {
    const { path, body } = dockerDefinitionRequest(ref, opts.name, opts.workspaceId)
    return post(opts, path, body)
  }
  const { text } = await readManifestSource(ref, opts.registryBase, opts.fetch)
  const body: Record<string, unknown> = { manifest: text }
  if (opts.name) body.name = opts.name
  if (opts.workspaceId) body.workspaceId = opts.workspaceId
  return post(opts, 'source_definitions/create', body)
}

function clientOptions(o: { server?: string; token?: string }, env: NodeJS.ProcessEnv): ConnectorsClientOptions {
  const token = o.token ?? env.SLUICE_API_TOKEN
  return { server: o.server ?? env.SLUICE_URL ?? `http://127.0.0.1:${env.SLUICE_PORT ?? '8001'}`, ...(token ? { token } : {}) }
}

/** `sluice connectors add <path|url|airbyte:name>`, `list [--available]` and `search <text>`. */
export function connectorsCommand(env: NodeJS.ProcessEnv = process.env, out: (text: string) => void = (t) => void process.stdout.write(t), err: (text: string) => void = (t) => void process.stderr.write(t)): Command {
  const cmd = new Command('connectors').description('manage source definitions (declarative manifests) on a running server')
  cmd
    .command('add')
    .description('add a connector: a declarative manifest (a file, an http(s) URL, or airbyte:<name> from Airbyte\'s registry) or an Airbyte connector image (docker:<repository>:<tag>)')
    .argument('<manifest>', 'path, URL, airbyte:<connector-name> (e.g. airbyte:xkcd), or docker:<image> (e.g. docker:airbyte/source-hubspot:4.5.1)')
    .option('--server <url>', 'sluice server base URL (default SLUICE_URL or http://127.0.0.1:8001)')
    .option('--token <token>', 'API token (default SLUICE_API_TOKEN)')
    .option('--name <name>', 'definition name (default: from the manifest)')
    .option('--workspace-id <id>', 'workspace that owns the definition')
    .option('--registry <url>', 'base URL for airbyte:<name> (default SLUICE_AIRBYTE_REGISTRY_URL or Airbyte\'s)')
    .action(async (manifest: string, o: { server?: string; token?: string; name?: string; workspaceId?: string; registry?: string }) => {
      const read = await addConnector(manifest, {
        ...clientOptions(o, env),
        ...(o.name ? { name: o.name } : {}),
        ...(o.workspaceId ? { workspaceId: o.workspaceId } : {}),
        registryBase: o.registry ?? env.SLUICE_AIRBYTE_REGISTRY_URL ?? AIRBYTE_MANIFEST_BASE,
      })
      const id = read.sourceDefinitionId === undefined ? { destinationDefinitionId: read.destinationDefinitionId } : { sourceDefinitionId: read.sourceDefinitionId }
      out(`${JSON.stringify({ ...id, name: read.name })}\n`)
    })
  const catalog = async (o: { index?: string }): Promise<CatalogEntry[]> => {
    const loaded = await loadAirbyteCatalog({ index: o.index ?? env.SLUICE_AIRBYTE_REGISTRY_INDEX_URL ?? AIRBYTE_REGISTRY_INDEX_URL, cacheFile: defaultCacheFile(env) })
    if (loaded.note) err(`${loaded.note}\n`)
    return loaded.entries
  }
  const print = (entries: CatalogEntry[]): void => {
    for (const e of entries) out(`airbyte:${e.name}\t${e.title}\t${e.supportLevel}\n`)
  }
  const indexOption = '--index <url|file>'
  const indexHelp = "Airbyte's registry index (default SLUICE_AIRBYTE_REGISTRY_INDEX_URL or Airbyte's oss_registry.json; cached a day)"
  cmd
    .command('search')
    .description("search Airbyte's manifest-only connectors (add one with `connectors add airbyte:<name>`)")
    .argument('<text>', 'words that the name or title must contain')
    .option(indexOption, indexHelp)
    .action(async (text: string, o: { index?: string }) => {
      const found = searchCatalog(await catalog(o), text)
      if (found.length === 0) err(`no manifest-only connector matches ${JSON.stringify(text)}\n`)
      print(found)
    })
  cmd
    .command('list')
    .description('list source definitions (id and name) of a server, or with --available the manifest-only connectors of Airbyte\'s registry')
    .option('--server <url>', 'sluice server base URL')
    .option('--token <token>', 'API token')
    .option('--available', "list Airbyte's manifest-only connectors instead")
    .option(indexOption, indexHelp)
    .action(async (o: { server?: string; token?: string; available?: boolean; index?: string }) => {
      if (o.available) {
        print(await catalog(o))
        return
      }
      const res = await post(clientOptions(o, env), 'source_definitions/list', {})
      for (const d of (res.sourceDefinitions ?? []) as Array<Record<string, unknown>>) {
        out(`${String(d.sourceDefinitionId)}\t${String(d.name)}${d.custom ? '\t(custom)' : ''}\n`)
      }
    })
  return cmd
}
