import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

/** Airbyte's public registry index (every connector with its metadata). */
export const AIRBYTE_REGISTRY_INDEX_URL = 'https://connectors.airbyte.com/files/registries/v0/oss_registry.json'

/** A cached index younger than this is used without asking the network. */
const MAX_CACHE_AGE_MS = 24 * 60 * 60 * 1000

/** One manifest-only connector sluice can add with `airbyte:<name>`. */
export interface CatalogEntry {
  /** The name for `sluice connectors add airbyte:<name>` (the repository name without `source-`). */
  name: string
  title: string
  supportLevel: string
  documentationUrl: string
}

/** Where the index comes from and how long a cached copy stays fresh. */
export interface CatalogOptions {
  /** URL (http/https) or local file path of the registry index. */
  index: string
  cacheFile: string
  fetch?: typeof fetch
  now?: () => number
}

/** The index, with a note when a cached copy had to stand in for the network. */
export interface LoadedCatalog {
  entries: CatalogEntry[]
  note?: string
}

/** `$SLUICE_CACHE_DIR` or `$XDG_CACHE_HOME/sluice` or `~/.cache/sluice`. */
export function defaultCacheFile(env: NodeJS.ProcessEnv): string {
  const dir = env.SLUICE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice')
  return join(dir, 'airbyte-registry.json')
}

/** The manifest-only sources of a registry index (language `manifest-only`), sorted by name. */
export function manifestOnlyEntries(index: unknown): CatalogEntry[] {
  const sources = index && typeof index === 'object' && Array.isArray((index as { sources?: unknown }).sources) ? ((index as { sources: unknown[] }).sources as Array<Record<string, unknown>>) : []
  const out: CatalogEntry[] = []
  for (const s of sources) {
    const tags = Array.isArray(s.tags) ? s.tags.map(String) : []
    if (s.language !== 'manifest-only' && !tags.includes('language:manifest-only')) continue
    const repo = String(s.dockerRepository ?? '')
    const name = repo.replace(/^airbyte\//, '').replace(/^source-/, '')
    if (!name) continue
    out.push({ name, title: String(s.name ?? name), supportLevel: String(s.supportLevel ?? 'community'), documentationUrl: String(s.documentationUrl ?? '') })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/** Entries whose name or title contains every word of `text` (case-insensitive). */
export function searchCatalog(entries: CatalogEntry[], text: string): CatalogEntry[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean)
  return entries.filter((e) => {
    const hay = `${e.name} ${e.title}`.toLowerCase()
    return words.every((w) => hay.includes(w))
  })
}

async function readCache(file: string): Promise<{ index: unknown; savedAt: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)])
    return { index: JSON.parse(text) as unknown, savedAt: info.mtimeMs }
  } catch {
    return undefined
  }
}

/**
 * Loads the registry index: a fresh cache (under a day old) first, then the network (the copy is
 * cached), then a stale cache with a note. Offline with no cache is an error that says what to do.
 */
export async function loadAirbyteCatalog(opts: CatalogOptions): Promise<LoadedCatalog> {
  if (!/^https?:\/\//i.test(opts.index)) return { entries: manifestOnlyEntries(JSON.parse(await readFile(opts.index, 'utf8')) as unknown) }
  const cached = await readCache(opts.cacheFile)
  if (cached && (opts.now ?? Date.now)() - cached.savedAt < MAX_CACHE_AGE_MS) return { entries: manifestOnlyEntries(cached.index) }
  let text: string
  try {
    const res = await (opts.fetch ?? fetch)(opts.index, { signal: AbortSignal.timeout(30_000) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    text = await res.text()
    JSON.parse(text)
  } catch (e) {
    const why = (e as Error).message
    if (cached) return { entries: manifestOnlyEntries(cached.index), note: `Airbyte's registry is unreachable (${why}); using the cached index from ${new Date(cached.savedAt).toISOString()}` }
    throw new Error(`cannot read Airbyte's registry index at ${opts.index} (${why}) and there is no cached copy at ${opts.cacheFile}. Offline? Pass --index <file or URL of a copy of oss_registry.json>.`, { cause: e })
  }
  await mkdir(dirname(opts.cacheFile), { recursive: true })
  // Written aside then renamed, so a concurrent reader never sees half a file.
  const tmp = `${opts.cacheFile}.${process.pid}.tmp`
  await writeFile(tmp, text)
  await rename(tmp, opts.cacheFile)
  return { entries: manifestOnlyEntries(JSON.parse(text) as unknown) }
}
