import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConnectorSpecification, SourceDefinition } from '../../protocol/index.js'
import { DeclarativeSource, type DeclarativeSourceOptions } from './declarative-source.js'
import { parseManifestText, type ManifestNode } from './manifest-loader.js'

/** What a stored custom definition keeps in `CustomDefinitionRecord.payload`. */
export interface ManifestPayload {
  /** The manifest as given (unresolved), so it can be re-read by newer runtimes. */
  manifest: ManifestNode
  /** Airbyte's ConnectorSpecification from create_manifest, when it differs from manifest.spec. */
  spec?: ConnectorSpecification
  description?: string
  version?: number
  documentationUrl?: string
  dockerRepository?: string
  dockerImageTag?: string
  icon?: string
}

/** Metadata a manifest definition needs beyond the manifest itself. */
export interface ManifestDefinitionInput extends ManifestPayload {
  definitionId: string
  name: string
  custom: boolean
  /** Folder JsonFileSchemaLoader paths are relative to (built-in manifests). */
  baseDir?: string
  sourceOptions?: DeclarativeSourceOptions
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Parses a manifest given as an object, or as YAML/JSON text (duplicate keys are reported in `warnings`). */
export function manifestFromInput(input: unknown, warnings: string[] = []): ManifestNode {
  if (typeof input === 'string') return parseManifestText(input, warnings)
  if (isObject(input)) return input
  throw new DeclarativeInputError('manifest must be an object or YAML text')
}

/** Thrown for malformed create requests (mapped to 422 by the routes). */
export class DeclarativeInputError extends Error {}

/**
 * Builds a source definition from a manifest. Loading and validation happen here, so an
 * unsupported component fails definition creation with its path in the manifest.
 */
export function definitionFromManifest(input: ManifestDefinitionInput): SourceDefinition {
  const source = new DeclarativeSource(input.manifest, { ...input.sourceOptions, baseDir: input.baseDir, spec: input.spec })
  const spec = source.spec
  return {
    kind: 'source',
    definitionId: input.definitionId,
    name: input.name,
    dockerRepository: input.dockerRepository ?? 'airbyte/source-declarative-manifest',
    dockerImageTag: input.dockerImageTag ?? String(input.manifest.version ?? '0.1.0'),
    documentationUrl: input.documentationUrl ?? spec.documentationUrl ?? '',
    releaseStage: input.custom ? 'custom' : 'alpha',
    supportLevel: input.custom ? 'none' : 'community',
    sourceType: 'api',
    custom: input.custom,
    ...(input.icon ? { icon: input.icon } : {}),
    source,
  }
}

/**
 * A custom manifest definition as the config store keeps it. The composition root reads the
 * records and hands them over, so this family never imports the store.
 */
export interface StoredManifestDefinition {
  definitionId: string
  name: string
  payload: Record<string, unknown>
}

/** Whether a stored custom definition's payload holds a manifest (a declarative source). */
export function isManifestPayload(payload: unknown): payload is ManifestPayload {
  return isObject(payload) && isObject(payload.manifest)
}

/** A definition rebuilt from a stored custom definition. */
export function definitionFromStored(stored: StoredManifestDefinition): SourceDefinition {
  const p = stored.payload as unknown as ManifestPayload
  return definitionFromManifest({ ...p, definitionId: stored.definitionId, name: stored.name, custom: true })
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) return dir
    dir = up
  }
  return dir
}

/** The folder of the built-in manifests shipped as data (`connectors/manifests`). */
export function builtinManifestDir(): string {
  return join(packageRoot(), 'connectors', 'manifests')
}

/** sluice's metadata block in a built-in manifest (`sluice:` at the top level). */
interface BuiltinMetadata {
  definitionId?: string
  name?: string
  documentationUrl?: string
  icon?: string
}

/**
 * The built-in manifest definitions (`connectors/manifests/*.yaml`). Each carries a `sluice:`
 * block with its fixed definition id and name; a file that fails to load is a bug caught by
 * the built-in manifest tests, so it throws.
 */
export function builtinManifestDefinitions(dir: string = builtinManifestDir()): SourceDefinition[] {
  // Parsing the YAML costs ~100 ms: build once per process (the sources hold no per-run state).
  const cached = builtinCache.get(dir)
  if (cached) return [...cached]
  const built = loadBuiltinManifests(dir)
  builtinCache.set(dir, built)
  return [...built]
}

const builtinCache = new Map<string, SourceDefinition[]>()

function loadBuiltinManifests(dir: string): SourceDefinition[] {
  if (!existsSync(dir)) return []
  const out: SourceDefinition[] = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const text = readFileSync(join(dir, file), 'utf8')
    const manifest = parseManifestText(text)
    const meta = (isObject(manifest.sluice) ? manifest.sluice : {}) as BuiltinMetadata
    const definitionId = meta.definitionId ?? uuidFromName(file)
    out.push(
      definitionFromManifest({
        manifest,
        definitionId,
        name: meta.name ?? file.replace(/\.yaml$/, ''),
        custom: false,
        baseDir: dir,
        dockerRepository: `sluice/source-${file.replace(/\.yaml$/, '')}`,
        dockerImageTag: String(manifest.version ?? '0.1.0'),
        ...(meta.documentationUrl ? { documentationUrl: meta.documentationUrl } : {}),
        ...(meta.icon ? { icon: meta.icon } : {}),
      }),
    )
  }
  return out
}

/** A stable UUID (v5-shaped) from a name, for manifests without an explicit id. */
function uuidFromName(name: string): string {
  const h = createHash('sha1').update(`sluice-manifest:${name}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`
}
