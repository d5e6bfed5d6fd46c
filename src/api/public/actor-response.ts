import type { ConnectorRegistry } from '../../connectors/registry.js'
import { SluiceError } from '../../errors.js'
import type { DestinationDefinition, SourceDefinition } from '../../protocol/index.js'
import type { ActorRecord } from '../../store/config-store.js'
import { findDefinition, toActorRead, type ActorKind } from '../actor-service.js'

/** Field names per kind in the Public API. */
export function publicActorNames(kind: ActorKind): { id: 'sourceId' | 'destinationId'; type: 'sourceType' | 'destinationType'; plural: 'sources' | 'destinations' } {
  return kind === 'source' ? { id: 'sourceId', type: 'sourceType', plural: 'sources' } : { id: 'destinationId', type: 'destinationType', plural: 'destinations' }
}

/**
 * A definition's type as the Public API names it (`postgres`, `s3`, `faker`): its Docker
 * repository without the owner and the `source-`/`destination-` prefix.
 */
export function connectorType(def: Pick<SourceDefinition | DestinationDefinition, 'kind' | 'dockerRepository'>): string {
  const repo = def.dockerRepository.slice(def.dockerRepository.lastIndexOf('/') + 1)
  const prefix = `${def.kind}-`
  return repo.startsWith(prefix) ? repo.slice(prefix.length) : repo
}

/**
 * The definition a create names: its `definitionId`, else the one whose type is
 * `configuration.sourceType` / `destinationType` (400 naming the field when none or several match).
 */
export function definitionIdFor(registry: ConnectorRegistry, kind: ActorKind, definitionId: string | undefined, configuration: Record<string, unknown>): string {
  if (definitionId !== undefined) return definitionId
  const field = publicActorNames(kind).type
  const wanted = configuration[field]
  const propertyPath = `configuration.${field}`
  if (typeof wanted !== 'string' || wanted === '') {
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `Either definitionId or ${propertyPath} is required.`, {
      validationErrors: [{ propertyPath, invalidValue: 'null', message: 'is required when definitionId is not given' }],
    })
  }
  const defs: Array<SourceDefinition | DestinationDefinition> = kind === 'source' ? registry.sources() : registry.destinations()
  const matches = defs.filter((d) => connectorType(d) === wanted.toLowerCase())
  if (matches.length === 1 && matches[0] !== undefined) return matches[0].definitionId
  const known = [...new Set(defs.map(connectorType))].sort().join(', ')
  const message = matches.length === 0 ? `is not a ${kind} type this server has (types: ${known})` : `names ${matches.length} definitions: give definitionId`
  throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `${propertyPath} '${wanted}' ${message}.`, { validationErrors: [{ propertyPath, invalidValue: wanted, message }] })
}

/** The configuration without the Public API's type discriminator (the connector's spec does not know it). */
export function withoutTypeField(kind: ActorKind, configuration: Record<string, unknown>): Record<string, unknown> {
  const { [publicActorNames(kind).type]: _type, ...rest } = configuration
  return rest
}

/** `SourceResponse` / `DestinationResponse`: the configuration masked as the Config API masks it. */
export function toPublicActorResponse(registry: ConnectorRegistry, actor: ActorRecord): Record<string, unknown> {
  const names = publicActorNames(actor.kind)
  const def = findDefinition(registry, actor.kind, actor.definitionId)
  const read = toActorRead(registry, actor)
  return {
    [names.id]: actor.id,
    name: actor.name,
    [names.type]: def === undefined ? 'unknown' : connectorType(def),
    definitionId: actor.definitionId,
    workspaceId: actor.workspaceId,
    configuration: read.connectionConfiguration,
    createdAt: actor.createdAt,
  }
}
