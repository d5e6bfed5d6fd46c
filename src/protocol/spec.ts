import type { DestinationSyncMode, JsonSchema } from './catalog.js'

/** Airbyte's ConnectorSpecification (secrets are marked `airbyte_secret: true`). */
export interface ConnectorSpecification {
  documentationUrl?: string
  connectionSpecification: JsonSchema
  supportedDestinationSyncModes?: DestinationSyncMode[]
  supportsIncremental?: boolean
}

export interface ConnectionStatus {
  status: 'succeeded' | 'failed'
  message: string
}
