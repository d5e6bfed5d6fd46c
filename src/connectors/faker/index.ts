import type { SourceDefinition } from '../../protocol/index.js'
import { fakerSource } from './faker-source.js'

/** Sample Data (Faker), under Airbyte's definition id so scripts that hard-code it keep working. */
export const fakerDefinition: SourceDefinition = {
  kind: 'source',
  definitionId: 'dfd88b22-b603-4c3d-aad7-3701784586b1',
  name: 'Sample Data (Faker)',
  dockerRepository: 'airbyte/source-faker',
  dockerImageTag: '6.2.0',
  documentationUrl: 'https://docs.airbyte.com/integrations/sources/faker',
  releaseStage: 'beta',
  supportLevel: 'community',
  sourceType: 'api',
  source: fakerSource,
}
