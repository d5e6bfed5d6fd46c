import type { ConnectorDefinition, DestinationDefinition, SourceDefinition } from '../protocol/index.js'

/**
 * The connector catalogue. The composition root (server, CLI) hands it its definitions: the
 * built-in ones (`builtinDefinitions()`) at start-up, custom ones (declarative manifests from the
 * store) at start-up and when added. It imports no connector, so no family imports it back.
 */
export class ConnectorRegistry {
  readonly #sources = new Map<string, SourceDefinition>()
  readonly #destinations = new Map<string, DestinationDefinition>()

  constructor(definitions: readonly ConnectorDefinition[]) {
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
