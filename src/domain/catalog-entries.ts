import {
  DESTINATION_SYNC_MODES,
  SYNC_MODES,
  type AirbyteStream,
  type DestinationSyncMode,
  type SyncMode,
} from '../protocol/index.js'
import type { ConnectionRecord } from '../store/config-store.js'
import { forcedFields, selectedFieldNames } from './field-selection.js'

/** One stream of a connection's syncCatalog, decoded from the Config API shape. */
export interface CatalogEntry {
  stream: AirbyteStream
  selected: boolean
  syncMode: SyncMode
  destinationSyncMode: DestinationSyncMode
  cursorField: string[]
  primaryKey: string[][]
  aliasName: string | undefined
  /** The top-level fields the sync keeps (selected, plus the cursor and key the modes need); undefined: every field. */
  selectedFields: string[] | undefined
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function stringArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined
}

function pathList(v: unknown): string[][] | undefined {
  return Array.isArray(v) && v.every((p) => stringArray(p) !== undefined) ? (v as string[][]) : undefined
}

/** Decodes `connection.syncCatalog` (`{streams:[{stream, config}]}`) into typed entries. */
export function catalogEntries(connection: Pick<ConnectionRecord, 'syncCatalog'>): CatalogEntry[] {
  const entries: CatalogEntry[] = []
  for (const item of connection.syncCatalog.streams) {
    const s = isObject(item.stream) ? item.stream : {}
    const c = isObject(item.config) ? item.config : {}
    if (typeof s.name !== 'string') continue
    const supported = (stringArray(s.supportedSyncModes) ?? []).filter((m): m is SyncMode => (SYNC_MODES as readonly string[]).includes(m))
    const stream: AirbyteStream = {
      name: s.name,
      namespace: typeof s.namespace === 'string' ? s.namespace : null,
      jsonSchema: isObject(s.jsonSchema) ? s.jsonSchema : {},
      supportedSyncModes: supported.length > 0 ? supported : ['full_refresh'],
    }
    if (typeof s.sourceDefinedCursor === 'boolean') stream.sourceDefinedCursor = s.sourceDefinedCursor
    const defaultCursor = stringArray(s.defaultCursorField)
    if (defaultCursor !== undefined) stream.defaultCursorField = defaultCursor
    const sourcePk = pathList(s.sourceDefinedPrimaryKey)
    if (sourcePk !== undefined) stream.sourceDefinedPrimaryKey = sourcePk
    if (typeof s.isResumable === 'boolean') stream.isResumable = s.isResumable
    const syncMode = (SYNC_MODES as readonly string[]).includes(c.syncMode as string) ? (c.syncMode as SyncMode) : 'full_refresh'
    const destinationSyncMode = (DESTINATION_SYNC_MODES as readonly string[]).includes(c.destinationSyncMode as string)
      ? (c.destinationSyncMode as DestinationSyncMode)
      : 'append'
    // Airbyte §2.2: a source-defined cursor / primary key wins over the user's choice.
    const cursorField = stream.sourceDefinedCursor === true && defaultCursor !== undefined && defaultCursor.length > 0
      ? defaultCursor
      : (stringArray(c.cursorField) ?? []).length > 0
        ? (stringArray(c.cursorField) as string[])
        : (defaultCursor ?? [])
    const primaryKey = sourcePk !== undefined && sourcePk.length > 0 ? sourcePk : (pathList(c.primaryKey) ?? [])
    const chosen = selectedFieldNames(c)
    const selectedFields = chosen === undefined ? undefined : [...new Set([...chosen, ...forcedFields({ syncMode, destinationSyncMode, cursorField, primaryKey })])]
    entries.push({
      stream,
      selected: c.selected !== false,
      syncMode,
      destinationSyncMode,
      cursorField,
      primaryKey,
      aliasName: typeof c.aliasName === 'string' && c.aliasName !== '' ? c.aliasName : undefined,
      selectedFields,
    })
  }
  return entries
}
