import type { SourceDefinition } from '../../protocol/index.js'
import { RestApiSource } from './rest-api-source.js'

export { RestApiSource } from './rest-api-source.js'
export { restApiSpec, type RestApiConfig } from './rest-api-spec.js'

/** The "REST API" source (sluice's own; the seed finds it by name). */
export const restApiDefinition: SourceDefinition = {
  kind: 'source',
  definitionId: 'a9cf3e9a-efb1-418f-8eb6-3a5ea1eb4dca',
  name: 'REST API',
  dockerRepository: 'sluice/source-rest-api',
  dockerImageTag: '0.1.0',
  documentationUrl: 'https://github.com/sluice-etl/sluice/blob/main/docs/connectors/rest-api.md',
  releaseStage: 'alpha',
  supportLevel: 'community',
  sourceType: 'api',
  source: new RestApiSource(),
}
