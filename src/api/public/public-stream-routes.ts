import type { FastifyInstance } from 'fastify'
import { SluiceError } from '../../errors.js'
import { DESTINATION_SYNC_MODES, type AirbyteStream, type DestinationSyncMode } from '../../protocol/index.js'
import { discoverCatalog, requireActor, requireDefinition } from '../actor-service.js'
import type { ApiDeps } from '../deps.js'
import { publicSyncModes } from './connection-mapping.js'
import { boolQuery, uuidQuery } from './public-query.js'
import { publicRoute } from './public-route.js'

/** The top-level property paths of a stream's JSON schema (`propertyFields`). */
function propertyFields(stream: AirbyteStream): string[][] {
  const props = (stream.jsonSchema as { properties?: unknown }).properties
  return typeof props === 'object' && props !== null ? Object.keys(props).map((k) => [k]) : []
}

/** `StreamProperties` of a discovered stream, with the modes it and the destination support together. */
function toStreamProperties(stream: AirbyteStream, destinationModes: readonly DestinationSyncMode[]): Record<string, unknown> {
  const props: Record<string, unknown> = {
    streamName: stream.name,
    syncModes: publicSyncModes(stream.supportedSyncModes ?? ['full_refresh'], destinationModes),
    defaultCursorField: stream.defaultCursorField ?? [],
    sourceDefinedCursorField: stream.sourceDefinedCursor === true,
    sourceDefinedPrimaryKey: stream.sourceDefinedPrimaryKey ?? [],
    propertyFields: propertyFields(stream),
  }
  // The spec spells it `streamnamespace`.
  if (stream.namespace) props.streamnamespace = stream.namespace
  return props
}

/** GET /streams?sourceId&destinationId&ignoreCache: the source's streams (discover, cached per configuration unless ignoreCache). */
export function registerPublicStreamRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  publicRoute(
    scope,
    'GET',
    '/streams',
    {
      summary: "A source's streams and the sync modes each supports with the destination.",
      query: { sourceId: { type: 'string', format: 'uuid' }, destinationId: { type: 'string', format: 'uuid' }, ignoreCache: { type: 'boolean' } },
      response: 'StreamPropertiesResponse',
    },
    async ({ query }) => {
      const sourceId = uuidQuery(query, 'sourceId', true) as string
      const destinationId = uuidQuery(query, 'destinationId')
      let modes: readonly DestinationSyncMode[] = DESTINATION_SYNC_MODES
      if (destinationId !== undefined) {
        const destination = await requireActor(deps.configStore, 'destination', destinationId)
        modes = requireDefinition(deps.registry, 'destination', destination.definitionId).destination.capabilities.supportedSyncModes
      }
      const outcome = await discoverCatalog(deps, sourceId, boolQuery(query, 'ignoreCache'))
      if (!outcome.ok) throw new SluiceError('SLUICE_ERR_CONNECTOR_CONFIG', `The source's streams could not be discovered: ${outcome.message}`)
      return outcome.record.catalog.streams.map((s) => toStreamProperties(s, modes))
    },
  )
}
