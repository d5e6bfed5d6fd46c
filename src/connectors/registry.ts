import { builtinManifestDefinitions } from '../declarative/declarative-definitions.js'
import type { ConnectorDefinition, DestinationDefinition, SourceDefinition } from '../protocol/index.js'
import { fakerDefinition } from './faker/index.js'
import { localFilesDefinition } from './local-files/index.js'
import { postgresDestinationDefinition, postgresSourceDefinition } from './postgres/index.js'
import { restApiDefinition } from './rest-api/index.js'
import { s3Definition } from './s3/index.js'
import { testDestinationDefinition } from './test-destination/index.js'
import { testSourceDefinition } from './test-source/index.js'

/**
 * The connector catalogue: built-in definitions (Airbyte's real ids and names, so scripts that
 * hard-code ids keep working) plus custom definitions added at run time (declarative manifests).
 * Only connectors that really work are listed.
 */
export class ConnectorRegistry {
  readonly #sources = new Map<string, SourceDefinition>()
  readonly #destinations = new Map<string, DestinationDefinition>()

  constructor(definitions: readonly ConnectorDefinition[] = builtinDefinitions()) {
    for (const d of definitions) this.add(d)
  }

  add(definition: ConnectorDefinition): void {
    if (definition.kind === 'source') this.#sources.set(definition.definitionId, definition)
    else this.#destinations.set(definition.definitionId, definition)
  }

  sources(): SourceDefinition[] {
    return [...this.#sources.values()]
  }

  destinations(): DestinationDefinition[] {
    return [...this.#destinations.values()]
  }

  getSource(definitionId: string): SourceDefinition | undefined {
    return this.#sources.get(definitionId)
  }

  getDestination(definitionId: string): DestinationDefinition | undefined {
    return this.#destinations.get(definitionId)
  }
}

/** Built-in connectors. Each connector folder exports its definition from its index.ts. */
export function builtinDefinitions(): ConnectorDefinition[] {
  // The test connectors (failure knobs) are listed only for tests: only working connectors are offered.
  const testing = process.env.SLUICE_TEST_CONNECTORS === '1' ? [testSourceDefinition, testDestinationDefinition] : []
  return [fakerDefinition, localFilesDefinition, postgresSourceDefinition, postgresDestinationDefinition, s3Definition, restApiDefinition, ...builtinManifestDefinitions(), ...testing]
}
