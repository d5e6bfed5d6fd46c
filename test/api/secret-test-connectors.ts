import { configError } from '../../src/errors.js'
import type {
  AirbyteCatalog,
  ConnectorSpecification,
  DestinationDefinition,
  SourceDefinition,
} from '../../src/protocol/index.js'

/** A spec with a top-level secret and a secret inside a oneOf branch (like Postgres tunnels). */
export const secretSpec: ConnectorSpecification = {
  connectionSpecification: {
    type: 'object',
    required: ['host', 'port', 'password'],
    properties: {
      host: { type: 'string', minLength: 1 },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      password: { type: 'string', airbyte_secret: true },
      mode: { type: 'string', enum: ['fast', 'slow'] },
      tunnel: {
        type: 'object',
        oneOf: [
          { properties: { method: { const: 'NO_TUNNEL' } } },
          { properties: { method: { const: 'SSH_PASSWORD' }, tunnel_password: { type: 'string', airbyte_secret: true } } },
        ],
      },
    },
  },
}

/** How many times the test source's discover ran (catalog cache tests). */
export const discoverCalls = { count: 0 }

const catalog: AirbyteCatalog = {
  streams: [
    {
      name: 'customers',
      namespace: 'public',
      jsonSchema: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, updated_at: { type: 'string' } } },
      supportedSyncModes: ['full_refresh', 'incremental'],
      sourceDefinedPrimaryKey: [['id']],
    },
    {
      name: 'events',
      namespace: 'public',
      jsonSchema: { type: 'object', properties: { at: { type: 'string' }, payload: { type: 'object' } } },
      supportedSyncModes: ['full_refresh'],
    },
  ],
}

/** Test-only source with secrets: check fails (config error quoting the password) for host 'bad'. */
export const secretSourceDefinition: SourceDefinition = {
  kind: 'source',
  definitionId: '11111111-1111-4111-8111-111111111111',
  name: 'Secret Test',
  dockerRepository: 'sluice/source-secret-test',
  dockerImageTag: '0.0.1',
  documentationUrl: 'https://example.invalid/secret-test',
  releaseStage: 'alpha',
  supportLevel: 'none',
  sourceType: 'database',
  source: {
    spec: secretSpec,
    async check(config) {
      if (config.host === 'bad') throw configError(`password authentication failed for password ${String(config.password)}`)
      if (config.host === 'crash') throw new Error('boom')
      if (config.host === 'hang') await new Promise(() => undefined)
      return { status: 'succeeded', message: `connected to ${String(config.host)}` }
    },
    async discover(config) {
      discoverCalls.count++
      if (config.host === 'bad') throw configError('cannot connect')
      return catalog
    },
    async *read() {
      throw new Error('not used in API tests')
    },
  },
}

/** Test-only destination with secrets supporting every sync mode. */
export const secretDestinationDefinition: DestinationDefinition = {
  kind: 'destination',
  definitionId: '22222222-2222-4222-8222-222222222222',
  name: 'Secret Test',
  dockerRepository: 'sluice/destination-secret-test',
  dockerImageTag: '0.0.1',
  documentationUrl: 'https://example.invalid/secret-test',
  releaseStage: 'alpha',
  supportLevel: 'none',
  destination: {
    spec: secretSpec,
    capabilities: { supportedSyncModes: ['append', 'overwrite', 'append_dedup', 'overwrite_dedup'], acceptsPgCopyText: false, acceptsColumns: false },
    async check(config) {
      return config.host === 'bad' ? { status: 'failed', message: `refused with ${String(config.password)}` } : { status: 'succeeded', message: 'ok' }
    },
    async *write() {
      throw new Error('not used in API tests')
    },
  },
}

/**
 * Test-only source whose streams have loose schemas (as declarative manifests often do): the
 * primary key `id` is not listed in `properties`.
 */
export const looseSchemaSourceDefinition: SourceDefinition = {
  ...secretSourceDefinition,
  definitionId: '11111111-1111-4111-8111-222222222222',
  name: 'Loose Schema Test',
  dockerRepository: 'sluice/source-loose-schema-test',
  source: {
    ...secretSourceDefinition.source,
    async discover() {
      const stream = (name: string, jsonSchema: Record<string, unknown>) => ({ name, jsonSchema, supportedSyncModes: ['full_refresh' as const, 'incremental' as const], sourceDefinedPrimaryKey: [['id']] })
      return {
        streams: [
          stream('empty_properties', { type: 'object', properties: {} }),
          stream('no_properties', { type: 'object' }),
          stream('open', { type: 'object', additionalProperties: true, properties: { name: { type: 'string' } } }),
          stream('closed', { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } } }),
        ],
      }
    },
  },
}

/**
 * Test-only source whose `orders` stream has a source-defined cursor and primary key (discover
 * default: incremental + append_dedup) and whose `ledger` stream has a cursor but no key.
 */
export const cursorSourceDefinition: SourceDefinition = {
  ...secretSourceDefinition,
  definitionId: '11111111-1111-4111-8111-333333333333',
  name: 'Cursor Test',
  dockerRepository: 'sluice/source-cursor-test',
  source: {
    ...secretSourceDefinition.source,
    async discover() {
      const jsonSchema = { type: 'object', properties: { id: { type: 'integer' }, updated_at: { type: 'string' } } }
      return {
        streams: [
          { name: 'orders', jsonSchema, supportedSyncModes: ['full_refresh', 'incremental'], sourceDefinedCursor: true, defaultCursorField: ['updated_at'], sourceDefinedPrimaryKey: [['id']] },
          { name: 'ledger', jsonSchema, supportedSyncModes: ['incremental'], sourceDefinedCursor: true, defaultCursorField: ['updated_at'] },
        ],
      }
    },
  },
}
