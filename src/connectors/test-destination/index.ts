import type { DestinationDefinition } from '../../protocol/index.js'
import { testDestination } from './test-destination.js'

export {
  parseTestDestinationConfig,
  readTestDestination,
  testDestinationFile,
  type TestDestinationConfig,
  type TestDestinationLine,
} from './test-destination.js'

/** The test destination (JSONL files, failure knobs); listed only when SLUICE_TEST_CONNECTORS=1. */
export const testDestinationDefinition: DestinationDefinition = {
  kind: 'destination',
  definitionId: '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a02',
  name: 'Test Destination (sluice)',
  dockerRepository: 'sluice/destination-test',
  dockerImageTag: '0.1.0',
  documentationUrl: 'https://github.com/sluice/sluice/blob/main/docs/architecture.md',
  releaseStage: 'alpha',
  supportLevel: 'none',
  destination: testDestination,
}
