import type { DestinationDefinition } from '../../protocol/index.js'
import { S3Destination } from './s3-destination.js'

export { S3Destination } from './s3-destination.js'
export { GENERATION_METADATA } from './s3-object-store.js'
export { type S3Config, s3Spec } from './s3-spec.js'

/** Airbyte's S3 destination definition (same id and name, so clients that look it up keep working). */
export const s3Definition: DestinationDefinition = {
  kind: 'destination',
  definitionId: '4816b78f-1489-44c1-9060-4b19d5fa9362',
  name: 'S3',
  dockerRepository: 'airbyte/destination-s3',
  dockerImageTag: '1.5.0',
  documentationUrl: 'https://docs.airbyte.com/integrations/destinations/s3',
  releaseStage: 'generally_available',
  supportLevel: 'certified',
  destination: new S3Destination(),
}
