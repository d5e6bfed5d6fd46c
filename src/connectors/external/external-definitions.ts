import type { ConnectorDefinition, ConnectorLogger, ConnectorSpecification, RunOptions } from '../../protocol/index.js'
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

/** A ConnectorLogger over a pino-like logger (spec runs at definition time log at debug). */
export function serverConnectorLogger(log: { debug(msg: string): void; warn(msg: string): void; error(msg: string): void }): ConnectorLogger {
  return { debug: (m) => log.debug(m), info: (m) => log.debug(m), warn: (m) => log.warn(m), error: (m) => log.error(m) }
}
