import type { ConnectorDefinition, ConnectorLogger, ConnectorSpecification, RunOptions } from '../../protocol/index.js'
import type { ConfigStore, CustomDefinitionRecord } from '../../store/config-store.js'
import type { ConnectorRegistry } from '../registry.js'
import { imageName, type DefinitionResourceRequirements, type ImageRef } from './connector-runner.js'
import { fetchExternalSpec, type ExternalRunSettings } from './external-connector.js'
import { ExternalDestination } from './external-destination.js'
import { ExternalSource } from './external-source.js'

/**
 * What a stored custom definition of an external connector keeps in
 * `CustomDefinitionRecord.payload` (the same table as declarative manifests, told apart by
 * `external: true`). The spec is the one `spec` returned for this repository:tag.
 */
export interface ExternalDefinitionPayload {
  external: true
  dockerRepository: string
  dockerImageTag: string
  documentationUrl?: string
  icon?: string
  resourceRequirements?: DefinitionResourceRequirements
  spec: ConnectorSpecification
}

export function isExternalPayload(payload: unknown): payload is ExternalDefinitionPayload {
  const p = payload as Partial<ExternalDefinitionPayload> | null
  return p !== null && typeof p === 'object' && p.external === true && typeof p.dockerRepository === 'string' && typeof p.dockerImageTag === 'string' && typeof p.spec === 'object'
}

/** The registry entry of an external connector. */
export function externalDefinition(kind: 'source' | 'destination', definitionId: string, name: string, payload: ExternalDefinitionPayload, settings: ExternalRunSettings = {}): ConnectorDefinition {
  const image: ImageRef = { repository: payload.dockerRepository, tag: payload.dockerImageTag }
  const options = { ...settings, image, spec: payload.spec, ...(payload.resourceRequirements ? { resources: payload.resourceRequirements } : {}) }
  const common = {
    definitionId,
    name,
    dockerRepository: payload.dockerRepository,
    dockerImageTag: payload.dockerImageTag,
    documentationUrl: payload.documentationUrl ?? payload.spec.documentationUrl ?? '',
    releaseStage: 'custom' as const,
    supportLevel: 'none' as const,
    custom: true,
    ...(payload.icon ? { icon: payload.icon } : {}),
  }
  return kind === 'source' ? { ...common, kind, sourceType: 'custom', source: new ExternalSource(options) } : { ...common, kind, destination: new ExternalDestination(options) }
}

const specCache = new Map<string, Promise<ConnectorSpecification>>()

/** The spec of an image, run once per repository:tag and process (a failed run is not cached). */
export function cachedExternalSpec(image: ImageRef, settings: ExternalRunSettings, opts: RunOptions, role: string): Promise<ConnectorSpecification> {
  const key = imageName(image)
  let spec = specCache.get(key)
  if (spec === undefined) {
    spec = fetchExternalSpec(image, settings, opts, role)
    specCache.set(key, spec)
    spec.catch(() => specCache.delete(key))
  }
  return spec
}

/** Input of `saveExternalDefinition` (Airbyte's create_custom body, flattened). */
export interface ExternalDefinitionInput {
  kind: 'source' | 'destination'
  definitionId: string
  name: string
  workspaceId?: string
  dockerRepository: string
  dockerImageTag: string
  documentationUrl?: string
  icon?: string
  resourceRequirements?: DefinitionResourceRequirements
}

/**
 * Runs the image's `spec` (cached per repository:tag), stores the definition with it and adds
 * it to the registry. A spec that cannot be read fails the call: nothing is stored.
 */
export async function saveExternalDefinition(
  store: ConfigStore,
  registry: ConnectorRegistry,
  input: ExternalDefinitionInput,
  opts: RunOptions,
  settings: ExternalRunSettings = {},
): Promise<ConnectorDefinition> {
  const spec = await cachedExternalSpec({ repository: input.dockerRepository, tag: input.dockerImageTag }, settings, opts, input.kind)
  const payload: ExternalDefinitionPayload = {
    external: true,
    dockerRepository: input.dockerRepository,
    dockerImageTag: input.dockerImageTag,
    ...(input.documentationUrl ? { documentationUrl: input.documentationUrl } : {}),
    ...(input.icon ? { icon: input.icon } : {}),
    ...(input.resourceRequirements ? { resourceRequirements: input.resourceRequirements } : {}),
    spec,
  }
  const def = externalDefinition(input.kind, input.definitionId, input.name, payload, settings)
  await store.putCustomDefinition({
    definitionId: input.definitionId,
    kind: input.kind,
    ...(input.workspaceId ? { workspaceId: input.workspaceId } : {}),
    name: input.name,
    payload: payload as unknown as Record<string, unknown>,
    createdAt: Date.now(),
  })
  registry.add(def)
  return def
}

/** The stored record of an external definition, when `definitionId` is one. */
export async function storedExternalDefinition(store: ConfigStore, definitionId: string): Promise<(CustomDefinitionRecord & { payload: ExternalDefinitionPayload }) | undefined> {
  const rec = (await store.listCustomDefinitions()).find((r) => r.definitionId === definitionId)
  return rec && isExternalPayload(rec.payload) ? (rec as CustomDefinitionRecord & { payload: ExternalDefinitionPayload }) : undefined
}

/** Adds the stored external definitions to the registry (at start-up); returns how many. */
export async function loadExternalDefinitions(store: ConfigStore, registry: ConnectorRegistry, settings: ExternalRunSettings = {}): Promise<number> {
  let n = 0
  for (const rec of await store.listCustomDefinitions()) {
    if (!isExternalPayload(rec.payload)) continue
    registry.add(externalDefinition(rec.kind, rec.definitionId, rec.name, rec.payload, settings))
    n++
  }
  return n
}

/** A server service (structurally a SluiceService) that loads external definitions at start. */
export function externalDefinitionsService(): { name: string; start(deps: { configStore: ConfigStore; registry: ConnectorRegistry }): Promise<void>; stop(): void } {
  return {
    name: 'external-definitions',
    start: async (deps) => {
      await loadExternalDefinitions(deps.configStore, deps.registry)
    },
    stop: () => undefined,
  }
}

/** Shared store: reloads external definitions when the stored set changed (one query per call). */
export function externalDefinitionsRefresher(store: ConfigStore, registry: ConnectorRegistry): () => Promise<void> {
  let loaded: string | undefined
  return async () => {
    const version = await store.customDefinitionsVersion()
    if (version === loaded) return
    await loadExternalDefinitions(store, registry)
    loaded = version
  }
}

/** A ConnectorLogger over a pino-like logger (spec runs at definition time log at debug). */
export function serverConnectorLogger(log: { debug(msg: string): void; info(msg: string): void; warn(msg: string): void; error(msg: string): void }): ConnectorLogger {
  return { debug: (m) => log.debug(m), info: (m) => log.debug(m), warn: (m) => log.warn(m), error: (m) => log.error(m) }
}
