import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { ConnectorSpecification, SourceDefinition } from '../../protocol/index.js'
import {
  DeclarativeInputError,
  DeclarativeSource,
  definitionFromManifest,
  manifestFromInput,
  type ManifestNode,
  type ManifestPayload,
} from '../../connectors/declarative/index.js'
import { SluiceError } from '../../errors.js'
import type { ApiDeps } from '../deps.js'
import { objectSchema, postRoute, str, uuid } from '../route-helpers.js'
import { toSourceDefinitionRead } from './definition-routes.js'
import { requireWorkspace } from '../workspace-service.js'
import { createImageDefinition, type ImageDefinitionBody } from './external-definition-routes.js'

interface CreateManifestBody {
  workspaceId: string
  sourceDefinitionId?: string
  declarativeManifest: { manifest: unknown; spec?: Record<string, unknown>; version?: number; description?: string }
  setAsActiveManifest?: boolean
  /** sluice extension: the definition's name when a new definition is created. */
  name?: string
}

interface CreateDefinitionBody {
  workspaceId?: string
  name?: string
  documentationUrl?: string
  dockerRepository?: string
  dockerImageTag?: string
  icon?: string
  sourceDefinition?: ImageDefinitionBody
  /** The declarative manifest (object, or YAML/JSON text). */
  manifest?: unknown
  spec?: Record<string, unknown>
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_INPUT', message)
}

/** Airbyte's create_manifest `spec` is a ConnectorSpecification; a manifest Spec is accepted too. */
function specFrom(spec: Record<string, unknown> | undefined): ConnectorSpecification | undefined {
  if (!spec) return undefined
  const conn = spec.connectionSpecification ?? spec.connection_specification
  if (!conn || typeof conn !== 'object') return undefined
  const out: ConnectorSpecification = { connectionSpecification: conn as Record<string, unknown> }
  const doc = spec.documentationUrl ?? spec.documentation_url
  if (typeof doc === 'string') out.documentationUrl = doc
  return out
}

function nameFromManifest(m: ManifestNode, fallback: string): string {
  const meta = m.metadata as Record<string, unknown> | undefined
  const spec = m.spec as Record<string, unknown> | undefined
  const conn = spec?.connection_specification as Record<string, unknown> | undefined
  const candidates = [meta?.name, conn?.title, m.description]
  for (const c of candidates) if (typeof c === 'string' && c.trim()) return c.trim().split('\n')[0]?.slice(0, 120) ?? fallback
  return fallback
}

function parseManifest(input: unknown, warnings: string[]): ManifestNode {
  try {
    return manifestFromInput(input, warnings)
  } catch (e) {
    if (e instanceof DeclarativeInputError) throw invalid(e.message)
    throw e
  }
}

/**
 * Validates the manifest (throws with the component path on unsupported parts), persists it as
 * a custom definition and adds it to the registry.
 */
async function saveDefinition(deps: ApiDeps, definitionId: string, name: string, workspaceId: string | undefined, payload: ManifestPayload, parseWarnings: string[]): Promise<SourceDefinition> {
  const existing = deps.registry.getSource(definitionId)
  if (existing && !existing.custom) throw new SluiceError('SLUICE_ERR_CONFLICT', `Source definition ${definitionId} is a built-in connector and cannot be replaced.`)
  const def = definitionFromManifest({ ...payload, definitionId, name, custom: true })
  await deps.configStore.putCustomDefinition({
    definitionId,
    kind: 'source',
    ...(workspaceId ? { workspaceId } : {}),
    name,
    payload: payload as unknown as Record<string, unknown>,
    createdAt: Date.now(),
  })
  deps.registry.add(def)
  // The definition loads, but parts of it may fail when used: say so where the operator looks.
  const warnings = [...parseWarnings, ...(def.source instanceof DeclarativeSource ? def.source.warnings : [])]
  for (const w of warnings) deps.logger.warn({ definitionId }, `manifest warning: ${w}`)
  return def
}

/**
 * Definitions from declarative manifests: Airbyte's
 * `declarative_source_definitions/create_manifest` and sluice's `source_definitions/create`
 * (and `create_custom`) with a `manifest` field. Both answer with the SourceDefinitionRead.
 */
export function registerDeclarativeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<CreateManifestBody>(
    app,
    'declarative_source_definitions/create_manifest',
    {
      summary: 'Create (or replace) a source definition from a declarative manifest.',
      requestSchema: objectSchema(
        {
          workspaceId: uuid,
          sourceDefinitionId: uuid,
          name: str,
          setAsActiveManifest: { type: 'boolean' },
          declarativeManifest: objectSchema({ manifest: {}, spec: { type: 'object' }, version: { type: 'integer' }, description: str }, ['manifest']),
        },
        ['workspaceId', 'declarativeManifest'],
      ),
      response: 'SourceDefinitionRead',
    },
    async (body) => {
      await requireWorkspace(deps, body.workspaceId)
      const dm = body.declarativeManifest
      const warnings: string[] = []
      const manifest = parseManifest(dm.manifest, warnings)
      const definitionId = body.sourceDefinitionId ?? randomUUID()
      const name = body.name ?? deps.registry.getSource(definitionId)?.name ?? nameFromManifest(manifest, 'Custom manifest source')
      const spec = specFrom(dm.spec)
      const payload: ManifestPayload = { manifest, ...(spec ? { spec } : {}), ...(dm.description ? { description: dm.description } : {}), ...(dm.version !== undefined ? { version: dm.version } : {}) }
      const def = await saveDefinition(deps, definitionId, name, body.workspaceId, payload, warnings)
      return toSourceDefinitionRead(def, deps.registry)
    },
  )

  const createFromManifest = async (body: CreateDefinitionBody): Promise<unknown> => {
    // Airbyte's create_custom names a connector image: run by the external runner.
    if (body.manifest === undefined && body.sourceDefinition?.dockerRepository) return createImageDefinition(deps, 'source', body.workspaceId, body.sourceDefinition)
    if (body.workspaceId) await requireWorkspace(deps, body.workspaceId)
    if (body.manifest === undefined) {
      throw invalid('pass a declarative manifest (YAML text or object) in `manifest`, or a connector image in `sourceDefinition.dockerRepository` and `dockerImageTag`.')
    }
    const warnings: string[] = []
    const manifest = parseManifest(body.manifest, warnings)
    const meta = { ...body, ...(body.sourceDefinition ?? {}) }
    const name = meta.name ?? nameFromManifest(manifest, 'Custom manifest source')
    const spec = specFrom(body.spec)
    const payload: ManifestPayload = {
      manifest,
      ...(spec ? { spec } : {}),
      ...(meta.documentationUrl ? { documentationUrl: meta.documentationUrl } : {}),
      ...(meta.dockerRepository ? { dockerRepository: meta.dockerRepository } : {}),
      ...(meta.dockerImageTag ? { dockerImageTag: meta.dockerImageTag } : {}),
      ...(meta.icon ? { icon: meta.icon } : {}),
    }
    const def = await saveDefinition(deps, randomUUID(), name, body.workspaceId, payload, warnings)
    return toSourceDefinitionRead(def, deps.registry)
  }
  const createSchema = objectSchema({ workspaceId: uuid, name: str, manifest: {}, spec: { type: 'object' }, sourceDefinition: { type: 'object' } })
  postRoute<CreateDefinitionBody>(app, 'source_definitions/create', { summary: 'Create a custom source definition from a declarative manifest (`manifest`).', requestSchema: createSchema, response: 'SourceDefinitionRead' }, createFromManifest)
  postRoute<CreateDefinitionBody>(app, 'source_definitions/create_custom', { summary: 'Create a custom source definition from a connector image (`sourceDefinition.dockerRepository`, run by the external runner) or a declarative manifest (`manifest`).', requestSchema: createSchema, response: 'SourceDefinitionRead' }, createFromManifest)
}
