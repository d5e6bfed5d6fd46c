import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { DestinationDefinition, SourceDefinition } from '../../protocol/index.js'
import {
  cachedExternalSpec,
  externalDefinition,
  isExternalPayload,
  serverConnectorLogger,
  type DefinitionResourceRequirements,
  type ExternalDefinitionPayload,
} from '../../connectors/external/index.js'
import type { CustomDefinitionRecord } from '../../store/config-store.js'
import { SluiceError } from '../../errors.js'
import type { ApiDeps } from '../deps.js'
import { objectSchema, postRoute, str, uuid } from '../route-helpers.js'
import { toDestinationDefinitionRead, toSourceDefinitionRead } from './definition-routes.js'
import { requireWorkspace } from '../workspace-service.js'

type Kind = 'source' | 'destination'

/** Airbyte's SourceDefinitionCreate / DestinationDefinitionCreate. */
export interface ImageDefinitionBody {
  name?: string
  dockerRepository?: string
  dockerImageTag?: string
  documentationUrl?: string
  icon?: string
  resourceRequirements?: DefinitionResourceRequirements
}

/** Running `spec` may pull an image first. */
const SPEC_TIMEOUT_MS = 10 * 60_000

function field(kind: Kind, name: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_INPUT', `${kind}Definition.${name} is required`, {
    validationErrors: [{ propertyPath: `${kind}Definition.${name}`, invalidValue: '', message: 'is required' }],
  })
}

function toRead(deps: ApiDeps, def: SourceDefinition | DestinationDefinition): Record<string, unknown> {
  return def.kind === 'source' ? toSourceDefinitionRead(def, deps.registry) : toDestinationDefinitionRead(def)
}

/** The stored record of an external definition, when `definitionId` is one. */
async function storedImageDefinition(deps: ApiDeps, definitionId: string): Promise<(CustomDefinitionRecord & { payload: ExternalDefinitionPayload }) | undefined> {
  const rec = (await deps.configStore.listCustomDefinitions()).find((r) => r.definitionId === definitionId)
  return rec && isExternalPayload(rec.payload) ? (rec as CustomDefinitionRecord & { payload: ExternalDefinitionPayload }) : undefined
}

/**
 * Runs the image's `spec` (cached per repository:tag), stores the definition with it (same
 * table as manifests, `payload.external: true`) and registers it. A spec that cannot be read
 * fails the call: nothing is stored.
 */
async function save(deps: ApiDeps, kind: Kind, definitionId: string, body: Required<Pick<ImageDefinitionBody, 'name' | 'dockerRepository' | 'dockerImageTag'>> & ImageDefinitionBody, workspaceId: string | undefined): Promise<Record<string, unknown>> {
  const opts = { signal: AbortSignal.timeout(SPEC_TIMEOUT_MS), logger: serverConnectorLogger(deps.logger), context: deps.context }
  const spec = await cachedExternalSpec({ repository: body.dockerRepository, tag: body.dockerImageTag }, {}, opts, kind)
  const payload: ExternalDefinitionPayload = {
    external: true,
    dockerRepository: body.dockerRepository,
    dockerImageTag: body.dockerImageTag,
    ...(body.documentationUrl ? { documentationUrl: body.documentationUrl } : {}),
    ...(body.icon ? { icon: body.icon } : {}),
    ...(body.resourceRequirements ? { resourceRequirements: body.resourceRequirements } : {}),
    spec,
  }
  const def = externalDefinition(kind, definitionId, body.name, payload)
  await deps.configStore.putCustomDefinition({
    definitionId,
    kind,
    ...(workspaceId ? { workspaceId } : {}),
    name: body.name,
    payload: payload as unknown as Record<string, unknown>,
    createdAt: Date.now(),
  })
  deps.registry.add(def)
  return toRead(deps, def as SourceDefinition | DestinationDefinition)
}

/**
 * `create_custom` for a connector image: runs its `spec`, stores the definition (with the spec)
 * and registers it. Answers with the definition read.
 */
export async function createImageDefinition(deps: ApiDeps, kind: Kind, workspaceId: string | undefined, body: ImageDefinitionBody): Promise<Record<string, unknown>> {
  if (workspaceId) await requireWorkspace(deps, workspaceId)
  if (!body.name) throw field(kind, 'name')
  if (!body.dockerRepository) throw field(kind, 'dockerRepository')
  if (!body.dockerImageTag) throw field(kind, 'dockerImageTag')
  return save(deps, kind, randomUUID(), { ...body, name: body.name, dockerRepository: body.dockerRepository, dockerImageTag: body.dockerImageTag }, workspaceId)
}

/** `update`: a new tag re-reads the spec; resource requirements may change too. */
async function updateImageDefinition(deps: ApiDeps, kind: Kind, definitionId: string, dockerImageTag: string | undefined, resourceRequirements: DefinitionResourceRequirements | undefined): Promise<Record<string, unknown>> {
  const rec = await storedImageDefinition(deps, definitionId)
  if (!rec || rec.kind !== kind) {
    const existing = kind === 'source' ? deps.registry.getSource(definitionId) : deps.registry.getDestination(definitionId)
    if (existing) throw new SluiceError('SLUICE_ERR_UNSUPPORTED', `${existing.name} is not a connector image added with create_custom: its version cannot be changed.`)
    throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find configuration for ${kind}_definition: ${definitionId}.`, { id: definitionId })
  }
  const p = rec.payload
  return save(
    deps,
    kind,
    definitionId,
    {
      name: rec.name,
      dockerRepository: p.dockerRepository,
      dockerImageTag: dockerImageTag ?? p.dockerImageTag,
      ...(p.documentationUrl ? { documentationUrl: p.documentationUrl } : {}),
      ...(p.icon ? { icon: p.icon } : {}),
      ...((resourceRequirements ?? p.resourceRequirements) ? { resourceRequirements: resourceRequirements ?? p.resourceRequirements } : {}),
    },
    rec.workspaceId,
  )
}

const imageSchema = objectSchema({ name: str, dockerRepository: str, dockerImageTag: str, documentationUrl: str, icon: str, resourceRequirements: { type: 'object' } })

/**
 * Definitions of Airbyte connector images (run by the external runner):
 * `destination_definitions/create_custom` and `*_definitions/update`. The source
 * `create_custom` is shared with declarative manifests (declarative-routes.ts) and comes here
 * when the body names an image and no manifest.
 */
export function registerExternalDefinitionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ workspaceId?: string; destinationDefinition: ImageDefinitionBody }>(
    app,
    'destination_definitions/create_custom',
    {
      summary: 'Add a destination connector image (its spec is read by running it).',
      requestSchema: objectSchema({ workspaceId: uuid, scopeId: uuid, scopeType: str, destinationDefinition: imageSchema }, ['destinationDefinition']),
      response: 'DestinationDefinitionRead',
    },
    (body) => createImageDefinition(deps, 'destination', body.workspaceId, body.destinationDefinition),
  )
  postRoute<{ sourceDefinitionId: string; dockerImageTag?: string; resourceRequirements?: DefinitionResourceRequirements }>(
    app,
    'source_definitions/update',
    {
      summary: 'Change the image tag (the spec is read again) or the resource requirements of a custom source definition.',
      requestSchema: objectSchema({ sourceDefinitionId: uuid, dockerImageTag: str, resourceRequirements: { type: 'object' }, workspaceId: uuid }, ['sourceDefinitionId']),
      response: 'SourceDefinitionRead',
    },
    (body) => updateImageDefinition(deps, 'source', body.sourceDefinitionId, body.dockerImageTag, body.resourceRequirements),
  )
  postRoute<{ destinationDefinitionId: string; dockerImageTag?: string; resourceRequirements?: DefinitionResourceRequirements }>(
    app,
    'destination_definitions/update',
    {
      summary: 'Change the image tag (the spec is read again) or the resource requirements of a custom destination definition.',
      requestSchema: objectSchema({ destinationDefinitionId: uuid, dockerImageTag: str, resourceRequirements: { type: 'object' }, workspaceId: uuid }, ['destinationDefinitionId']),
      response: 'DestinationDefinitionRead',
    },
    (body) => updateImageDefinition(deps, 'destination', body.destinationDefinitionId, body.dockerImageTag, body.resourceRequirements),
  )
}
