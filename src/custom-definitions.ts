import { definitionFromStored, isManifestPayload } from './connectors/declarative/index.js'
import { externalDefinition, isExternalPayload } from './connectors/external/index.js'
import type { ConnectorRegistry } from './connectors/registry.js'
import type { ConfigStore } from './store/config-store.js'

/** Where a custom definition that cannot be loaded is reported. */
interface DefinitionsLog {
  warn(obj: object, msg: string): void
}

/**
 * Hands the stored custom definitions (declarative manifests, connector images) to the registry (at start-up, and again when
 * another process added some). Part of the composition root: the store and the connector
 * families meet here, so neither imports the other. A manifest this runtime can no longer load
 * is logged and skipped, so one bad definition cannot stop the server.
 */
export async function loadCustomDefinitions(store: ConfigStore, registry: ConnectorRegistry, log: DefinitionsLog): Promise<number> {
  let n = 0
  for (const rec of await store.listCustomDefinitions()) {
    const payload = rec.payload
    try {
      if (rec.kind === 'source' && isManifestPayload(payload)) registry.add(definitionFromStored(rec))
      // A connector image's spec is stored with it: nothing runs here.
      else if (isExternalPayload(payload)) registry.add(externalDefinition(rec.kind, rec.definitionId, rec.name, payload))
      else continue
      n++
    } catch (e) {
      log.warn({ definitionId: rec.definitionId, err: (e as Error).message }, `custom definition ${rec.name} could not be loaded`)
    }
  }
  return n
}

/**
 * For API processes on a shared store: brings the registry up to date with the custom definitions
 * other processes added, checking the stored set's fingerprint (one query) and reloading only when
 * it changed. Concurrent callers share one check.
 */
export function customDefinitionsRefresher(store: ConfigStore, registry: ConnectorRegistry, log: DefinitionsLog): () => Promise<void> {
  let loaded: string | undefined
  let running: Promise<void> | undefined
  const refresh = async (): Promise<void> => {
    const version = await store.customDefinitionsVersion()
    if (version === loaded) return
    await loadCustomDefinitions(store, registry, log)
    loaded = version
  }
  return () =>
    (running ??= refresh().finally(() => {
      running = undefined
    }))
}

/** A server service (structurally a SluiceService) that loads custom definitions at start. */
export function customDefinitionsService(): {
  name: string
  start(deps: { configStore: ConfigStore; registry: ConnectorRegistry; logger: DefinitionsLog }): Promise<void>
  stop(): void
} {
  return {
    name: 'custom-definitions',
    start: async (deps) => {
      await loadCustomDefinitions(deps.configStore, deps.registry, deps.logger)
    },
    stop: () => undefined,
  }
}
