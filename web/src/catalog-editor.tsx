import { useState, type ReactNode } from 'react'

/** One entry of a syncCatalog (AirbyteStreamAndConfiguration). */
export interface CatalogEntry {
  stream: {
    name: string
    namespace?: string | null
    jsonSchema?: { properties?: Record<string, { type?: unknown }> }
    supportedSyncModes?: string[]
    sourceDefinedCursor?: boolean
    defaultCursorField?: string[]
    sourceDefinedPrimaryKey?: string[][]
  }
  config: {
    syncMode: string
    destinationSyncMode: string
    cursorField?: string[]
    primaryKey?: string[][]
    selected?: boolean
    fieldSelectionEnabled?: boolean
    selectedFields?: Array<{ fieldPath: string[] }>
    [key: string]: unknown
  }
}

const MODE_LABEL: Record<string, string> = {
  full_refresh: 'Full refresh',
  incremental: 'Incremental',
  overwrite: 'Overwrite',
  append: 'Append',
  append_dedup: 'Append + Deduped',
  overwrite_dedup: 'Overwrite + Deduped',
}

/** "syncMode|destinationSyncMode" pairs a stream and a destination both support. */
function modeOptions(entry: CatalogEntry, destinationModes: string[]): string[] {
  const out: string[] = []
  for (const s of entry.stream.supportedSyncModes ?? ['full_refresh']) {
    for (const d of destinationModes) {
      // Airbyte's pairs: dedup needs a primary key either way; incremental never overwrites.
      if (s === 'incremental' && (d === 'overwrite' || d === 'overwrite_dedup')) continue
      out.push(`${s}|${d}`)
    }
  }
  return out
}

function fieldType(t: unknown): string {
  if (Array.isArray(t)) return t.filter((x) => x !== 'null').join(' | ')
  return typeof t === 'string' ? t : 'any'
}

/** The fields a stream's sync mode cannot do without (Airbyte refuses to deselect them): incremental's cursor, dedup's key. */
function forcedFields(config: CatalogEntry['config']): string[] {
  const out: string[] = []
  const cursor = (config.cursorField ?? [])[0]
  if (config.syncMode === 'incremental' && cursor !== undefined) out.push(cursor)
  if (config.destinationSyncMode.endsWith('_dedup')) for (const path of config.primaryKey ?? []) if (path[0] !== undefined) out.push(path[0])
  return out
}

/** The top-level fields a stream syncs: its selection, or every field when it has none. */
export function syncedFields(entry: CatalogEntry): string[] {
  const all = Object.keys(entry.stream.jsonSchema?.properties ?? {})
  if (entry.config.fieldSelectionEnabled !== true) return all
  const chosen = new Set((entry.config.selectedFields ?? []).map((f) => f.fieldPath[0]))
  return all.filter((f) => chosen.has(f))
}

/**
 * A stream config with its field selection made consistent: the forced fields are added, and
 * a selection of every field becomes "no selection" (as Airbyte stores it).
 */
function normalizeSelection(entry: CatalogEntry, config: CatalogEntry['config']): CatalogEntry['config'] {
  if (config.fieldSelectionEnabled !== true) return config
  const all = Object.keys(entry.stream.jsonSchema?.properties ?? {})
  const chosen = new Set([...(config.selectedFields ?? []).map((f) => f.fieldPath[0]), ...forcedFields(config)])
  const selected = all.filter((f) => chosen.has(f))
  if (selected.length === all.length) return { ...config, fieldSelectionEnabled: false, selectedFields: [] }
  return { ...config, selectedFields: selected.map((f) => ({ fieldPath: [f] })) }
}

/** Stream key: namespace and name. */
export function streamKey(e: CatalogEntry): string {
  return `${e.stream.namespace ?? ''}.${e.stream.name}`
}

/**
 * The streams of a catalog: select, sync mode, cursor and primary key per stream, its fields
 * on demand, each with a checkbox (Airbyte's field selection; the cursor and key the sync mode
 * needs stay checked). Edits go to `onChange`; `rowActions` adds buttons (refresh, clear) to a row.
 */
export function CatalogEditor({
  streams,
  destinationModes,
  onChange,
  rowActions,
}: {
  streams: CatalogEntry[]
  destinationModes: string[]
  onChange(streams: CatalogEntry[]): void
  rowActions?: (entry: CatalogEntry) => ReactNode
}) {
  const [filter, setFilter] = useState('')
  const [open, setOpen] = useState<string | undefined>(undefined)
  const update = (i: number, config: Partial<CatalogEntry['config']>): void => {
    onChange(streams.map((e, j) => (j === i ? { ...e, config: normalizeSelection(e, { ...e.config, ...config }) } : e)))
  }
  const toggleField = (i: number, entry: CatalogEntry, field: string, on: boolean): void => {
    const kept = new Set(syncedFields(entry))
    if (on) kept.add(field)
    else kept.delete(field)
    update(i, { fieldSelectionEnabled: true, selectedFields: [...kept].map((f) => ({ fieldPath: [f] })) })
  }
  const visible = streams.map((e, i) => ({ e, i })).filter(({ e }) => e.stream.name.toLowerCase().includes(filter.trim().toLowerCase()))
  const allSelected = visible.length > 0 && visible.every(({ e }) => e.config.selected !== false)
  return (
    <div className="catalog">
      <div className="toolbar">
        <label>
          <span className="visually-hidden">Filter streams</span>
          <input type="search" placeholder="Filter streams" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
        <label className="inline">
          <input
            type="checkbox"
            checked={allSelected}
            onChange={() => {
              const keys = new Set(visible.map(({ e }) => streamKey(e)))
              onChange(streams.map((e) => (keys.has(streamKey(e)) ? { ...e, config: { ...e.config, selected: !allSelected } } : e)))
            }}
          />{' '}
          Sync all {filter ? 'shown ' : ''}streams
        </label>
      </div>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Sync</th>
              <th scope="col">Stream</th>
              <th scope="col">Sync mode</th>
              <th scope="col">Cursor</th>
              <th scope="col">Primary key</th>
              <th scope="col">Fields</th>
              {rowActions ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {visible.map(({ e, i }) => {
              const fields = Object.keys(e.stream.jsonSchema?.properties ?? {})
              const synced = new Set(syncedFields(e))
              const forced = new Set(forcedFields(e.config))
              const key = streamKey(e)
              const incremental = e.config.syncMode === 'incremental'
              const dedup = e.config.destinationSyncMode.endsWith('_dedup')
              const sourcePk = (e.stream.sourceDefinedPrimaryKey ?? []).length > 0
              const label = e.stream.namespace ? `${e.stream.namespace}.${e.stream.name}` : e.stream.name
              return (
                <tr key={key} data-stream={e.stream.name} className={e.config.selected === false ? 'unselected' : ''}>
                  <td>
                    <input type="checkbox" aria-label={`Sync stream ${label}`} checked={e.config.selected !== false} onChange={(ev) => update(i, { selected: ev.target.checked })} />
                  </td>
                  <th scope="row">{label}</th>
                  <td>
                    <select
                      aria-label={`Sync mode of ${label}`}
                      value={`${e.config.syncMode}|${e.config.destinationSyncMode}`}
                      onChange={(ev) => {
                        const [syncMode = 'full_refresh', destinationSyncMode = 'overwrite'] = ev.target.value.split('|')
                        update(i, { syncMode, destinationSyncMode })
                      }}
                    >
                      {modeOptions(e, destinationModes).map((m) => {
                        const [s = '', d = ''] = m.split('|')
                        return (
                          <option key={m} value={m}>
                            {MODE_LABEL[s]} | {MODE_LABEL[d]}
                          </option>
                        )
                      })}
                    </select>
                  </td>
                  <td>
                    {!incremental ? (
                      <span className="muted">—</span>
                    ) : e.stream.sourceDefinedCursor ? (
                      <span title="Defined by the source">{(e.config.cursorField ?? []).join('.')} (source)</span>
                    ) : (
                      <select aria-label={`Cursor of ${label}`} value={(e.config.cursorField ?? [])[0] ?? ''} onChange={(ev) => update(i, { cursorField: ev.target.value ? [ev.target.value] : [] })}>
                        <option value="">Choose…</option>
                        {fields.map((f) => (
                          <option key={f} value={f}>
                            {f}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                  <td>
                    {!dedup ? (
                      <span className="muted">—</span>
                    ) : sourcePk ? (
                      <span title="Defined by the source">{(e.stream.sourceDefinedPrimaryKey ?? []).map((p) => p.join('.')).join(', ')} (source)</span>
                    ) : (
                      <select
                        multiple
                        aria-label={`Primary key of ${label}`}
                        value={(e.config.primaryKey ?? []).map((p) => p[0] ?? '')}
                        onChange={(ev) => update(i, { primaryKey: [...ev.target.selectedOptions].map((o) => [o.value]) })}
                      >
                        {fields.map((f) => (
                          <option key={f} value={f}>
                            {f}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                  <td>
                    <button type="button" className="link" aria-expanded={open === key} onClick={() => setOpen(open === key ? undefined : key)}>
                      {synced.size === fields.length ? `${fields.length} field${fields.length === 1 ? '' : 's'}` : `${synced.size} of ${fields.length} fields`}
                    </button>
                    {open === key ? (
                      <ul className="fields">
                        {Object.entries(e.stream.jsonSchema?.properties ?? {}).map(([f, s]) => (
                          <li key={f}>
                            <label className="inline" title={forced.has(f) ? 'The sync mode needs this field (cursor or primary key)' : undefined}>
                              <input
                                type="checkbox"
                                aria-label={`Sync field ${f} of ${label}`}
                                checked={synced.has(f) || forced.has(f)}
                                disabled={forced.has(f)}
                                onChange={(ev) => toggleField(i, e, f, ev.target.checked)}
                              />{' '}
                              <code>{f}</code>
                            </label>{' '}
                            <span className="muted">{fieldType(s.type)}</span>
                          </li>
                        ))}
                      </ul>
                    ) : null}
                  </td>
                  {rowActions ? <td className="actions">{rowActions(e)}</td> : null}
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
    </div>
  )
}

/**
 * Makes each stream's sync modes ones the destination supports (discover's defaults do not
 * know the destination: Faker suggests append_dedup, Local Files only overwrites or appends).
 */
export function fitToDestination(streams: CatalogEntry[], destinationModes: string[]): CatalogEntry[] {
  return streams.map((e) => {
    const options = modeOptions(e, destinationModes)
    if (options.includes(`${e.config.syncMode}|${e.config.destinationSyncMode}`) || options.length === 0) return e
    const sameSync = options.find((o) => o.startsWith(`${e.config.syncMode}|`)) ?? options[0] ?? ''
    const [syncMode = 'full_refresh', destinationSyncMode = 'overwrite'] = sameSync.split('|')
    return { ...e, config: { ...e.config, syncMode, destinationSyncMode } }
  })
}
