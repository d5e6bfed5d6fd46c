import { useState } from 'react'
import { ApiError, errorMessage, post } from '../api.js'
import { useSession } from '../session.js'
import { CatalogEditor, fitToDestination, type CatalogEntry } from '../catalog-editor.js'
import { useLoad } from '../use-load.js'
import { Link, navigate, useLocation } from '../router.js'
import { ScheduleEditor } from '../schedule-editor.js'
import type { ScheduleFields } from '../schedule.js'
import { ErrorBox, Spinner } from '../widgets.js'
import { toActor } from './actors-page.js'

/** Problems of a 422, one line per field. */
export function describeApiError(e: unknown): string[] {
  if (e instanceof ApiError && e.fieldErrors.length > 0) return e.fieldErrors.map((f) => `${f.propertyPath}: ${f.message}`)
  return [errorMessage(e)]
}

/** Supported destination sync modes of a destination definition. */
export async function destinationModes(destinationDefinitionId: string, signal?: AbortSignal): Promise<string[]> {
  const spec = await post<{ supportedDestinationSyncModes?: string[] }>('destination_definition_specifications/get', { destinationDefinitionId }, signal)
  return spec.supportedDestinationSyncModes ?? ['overwrite', 'append']
}

/** A new connection: source, destination, streams (discovered), schedule; then create. */
export function NewConnectionPage() {
  const { workspaceId } = useSession()
  const { query } = useLocation()
  const [sourceId, setSourceId] = useState(query.get('sourceId') ?? '')
  const [destinationId, setDestinationId] = useState(query.get('destinationId') ?? '')
  const [name, setName] = useState('')
  const [schedule, setSchedule] = useState<ScheduleFields>({ scheduleType: 'manual' })
  const [catalog, setCatalog] = useState<{ streams: CatalogEntry[]; catalogId?: string; modes: string[] } | undefined>(undefined)
  const [discovering, setDiscovering] = useState(false)
  const [errors, setErrors] = useState<string[]>([])
  const [creating, setCreating] = useState(false)

  const actors = useLoad(
    async (signal) => {
      const [s, d] = await Promise.all([post<{ sources: any[] }>('sources/list', { workspaceId }, signal), post<{ destinations: any[] }>('destinations/list', { workspaceId }, signal)])
      return { sources: s.sources.map((a) => toActor('source', a)), destinations: d.destinations.map((a) => toActor('destination', a)) }
    },
    [workspaceId],
  )

  const discover = async (): Promise<void> => {
    const destination = actors.data?.destinations.find((d) => d.id === destinationId)
    if (!destination) return
    setDiscovering(true)
    setErrors([])
    try {
      const [r, modes] = await Promise.all([
        post<{ catalog?: { streams: CatalogEntry[] }; catalogId?: string; jobInfo?: { failureReason?: { externalMessage?: string } } }>('sources/discover_schema', { sourceId, disable_cache: true }),
        destinationModes(destination.definitionId),
      ])
      if (!r.catalog) {
        setErrors([`Discovery failed: ${r.jobInfo?.failureReason?.externalMessage ?? 'no catalog'}`])
        return
      }
      setCatalog({ streams: fitToDestination(r.catalog.streams, modes), ...(r.catalogId ? { catalogId: r.catalogId } : {}), modes })
    } catch (e) {
      setErrors(describeApiError(e))
    } finally {
      setDiscovering(false)
    }
  }

  const create = async (): Promise<void> => {
    if (!catalog) return
    setCreating(true)
    setErrors([])
    try {
      const created = await post<{ connectionId: string }>('connections/create', {
        sourceId,
        destinationId,
        ...(name.trim() ? { name: name.trim() } : {}),
        status: 'active',
        syncCatalog: { streams: catalog.streams },
        ...(catalog.catalogId ? { sourceCatalogId: catalog.catalogId } : {}),
        ...schedule,
      })
      navigate(`/connections/${created.connectionId}`)
    } catch (e) {
      setErrors(describeApiError(e))
    } finally {
      setCreating(false)
    }
  }

  const d = actors.data
  return (
    <main className="page">
      <p className="crumbs">
        <Link to="/connections">Connections</Link> /
      </p>
      <h1>New connection</h1>
      {actors.error ? <ErrorBox message={actors.error} onRetry={actors.reload} /> : null}
      {!d ? (
        actors.error ? null : <Spinner />
      ) : (
        <>
          {d.sources.length === 0 || d.destinations.length === 0 ? (
            <p className="notice">
              A connection needs a source and a destination: <Link to="/sources/new">create a source</Link>, <Link to="/destinations/new">create a destination</Link>.
            </p>
          ) : null}
          <div className="field-row">
            <div className="field">
              <label htmlFor="conn-source">Source</label>
              <select id="conn-source" value={sourceId} onChange={(e) => { setSourceId(e.target.value); setCatalog(undefined) }}>
                <option value="">Choose a source…</option>
                {d.sources.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name} ({s.connectorName})
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="conn-destination">Destination</label>
              <select id="conn-destination" value={destinationId} onChange={(e) => { setDestinationId(e.target.value); setCatalog(undefined) }}>
                <option value="">Choose a destination…</option>
                {d.destinations.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name} ({s.connectorName})
                  </option>
                ))}
              </select>
            </div>
          </div>
          <button type="button" onClick={() => void discover()} disabled={!sourceId || !destinationId || discovering}>
            {catalog ? 'Discover the streams again' : 'Discover the streams'}
          </button>
          {discovering ? <Spinner label="Discovering the source's streams" /> : null}
          {catalog ? (
            <>
              <h2>Streams</h2>
              <CatalogEditor streams={catalog.streams} destinationModes={catalog.modes} onChange={(streams) => setCatalog({ ...catalog, streams })} />
              <div className="field">
                <label htmlFor="conn-name">Connection name</label>
                <input id="conn-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="source name <> destination name" />
              </div>
              <ScheduleEditor value={schedule} onChange={setSchedule} />
              {errors.length > 0 ? <ErrorBox message={errors.join(' · ')} /> : null}
              <div className="button-row">
                <button type="button" className="primary" onClick={() => void create()} disabled={creating || !catalog.streams.some((s) => s.config.selected !== false)}>
                  {creating ? 'Creating…' : 'Create connection'}
                </button>
              </div>
            </>
          ) : errors.length > 0 ? (
            <ErrorBox message={errors.join(' · ')} />
          ) : null}
        </>
      )}
    </main>
  )
}
