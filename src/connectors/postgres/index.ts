import type { DestinationDefinition, SourceDefinition } from '../../protocol/index.js'
import { PostgresDestination } from './postgres-destination.js'
import { PostgresSource } from './postgres-source.js'

export { PostgresSource } from './postgres-source.js'
export type { PostgresSourceOptions } from './pg-stream-read.js'
export { PostgresDestination } from './postgres-destination.js'
export {
  validateSourceConfig as validatePostgresSourceConfig,
  type PostgresSourceConfig,
  type PostgresDestinationConfig,
} from './postgres-config.js'
export { fromPgError } from './postgres-errors.js'

/** Airbyte's "Postgres" source definition (same id, so scripts that hard-code it keep working). */
export const postgresSourceDefinition: SourceDefinition = {
  kind: 'source',
  definitionId: 'decd338e-5647-4c0b-adf4-da0e75f5a750',
  name: 'Postgres',
  dockerRepository: 'airbyte/source-postgres',
  dockerImageTag: '3.6.0',
  documentationUrl: 'https://docs.airbyte.com/integrations/sources/postgres',
  releaseStage: 'generally_available',
  supportLevel: 'certified',
  sourceType: 'database',
  source: new PostgresSource(),
}

/** Airbyte's "Postgres" destination definition. */
export const postgresDestinationDefinition: DestinationDefinition = {
  kind: 'destination',
  definitionId: '25c5221d-dce2-4163-ade9-739ef790f503',
  name: 'Postgres',
  dockerRepository: 'airbyte/destination-postgres',
  dockerImageTag: '3.0.0',
  documentationUrl: 'https://docs.airbyte.com/integrations/destinations/postgres',
  releaseStage: 'generally_available',
  supportLevel: 'certified',
  destination: new PostgresDestination(),
}
