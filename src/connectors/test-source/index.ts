import type { SourceDefinition } from '../../protocol/index.js'
import { testSource } from './test-source.js'

export { testSourceRow, parseTestSourceConfig, type TestSourceConfig } from './test-source.js'

/** The test source (failure knobs for tests); listed only when SLUICE_TEST_CONNECTORS=1. */
export const testSourceDefinition: SourceDefinition = {
  kind: 'source',
  definitionId: '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a01',
  name: 'Test Source (sluice)',
  dockerRepository: 'sluice/source-test',
  dockerImageTag: '0.1.0',
  documentationUrl: 'https://github.com/sluice/sluice/blob/main/docs/architecture.md',
  releaseStage: 'alpha',
  supportLevel: 'none',
  sourceType: 'custom',
  source: testSource,
}
