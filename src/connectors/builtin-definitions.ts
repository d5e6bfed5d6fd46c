import type { ConnectorDefinition } from '../protocol/index.js'
import { builtinManifestDefinitions } from './declarative/index.js'
import { fakerDefinition } from './faker/index.js'
import { localFilesDefinition } from './local-files/index.js'
import { mysqlSourceDefinition } from './mysql/index.js'
import { postgresDestinationDefinition, postgresSourceDefinition } from './postgres/index.js'
import { restApiDefinition } from './rest-api/index.js'
import { s3Definition } from './s3/index.js'
import { testDestinationDefinition } from './test-destination/index.js'
import { testSourceDefinition } from './test-source/index.js'

/**
 * Built-in connectors (Airbyte's real ids and names, so scripts that hard-code ids keep working),
 * with the built-in manifests of `connectors/manifests/`. Each connector folder exports its
 * definition from its index.ts. Only connectors that really work are listed.
 */
export function builtinDefinitions(): ConnectorDefinition[] {
  // The test connectors (failure knobs) are listed only for tests: only working connectors are offered.
  const testing = process.env.SLUICE_TEST_CONNECTORS === '1' ? [testSourceDefinition, testDestinationDefinition] : []
  return [fakerDefinition, localFilesDefinition, mysqlSourceDefinition, postgresSourceDefinition, postgresDestinationDefinition, s3Definition, restApiDefinition, ...builtinManifestDefinitions(), ...testing]
}
