import { useEffect, useRef, useState } from 'react'
import { errorMessage, post } from '../api.js'
import { CatalogEditor, fitToDestination, type CatalogEntry } from '../catalog-editor.js'
import { relativeTime } from '../format.js'
import { useLoad } from '../use-load.js'
import { Link, navigate } from '../router.js'
import { ScheduleEditor } from '../schedule-editor.js'
import { describeSchedule, nextRun, type ScheduleFields } from '../schedule.js'
import { ErrorBox, Spinner, StatusBadge } from '../widgets.js'
import { ACTIVE_STATUSES, JobsTimeline, type JobItem } from './jobs-timeline.js'
import { describeApiError, destinationModes } from './new-connection-page.js'

/** WebBackendConnectionRead (the fields this page reads and writes). */
interface Connection extends ScheduleFields {
  connectionId: string
  name: string
  status: 'active' | 'inactive' | 'deprecated'
  namespaceDefinition?: string
  namespaceFormat?: string
  prefix?: string
  nonBreakingChangesPreference?: string
  syncCatalog: { streams: CatalogEntry[] }
  catalogId?: string
  source: { sourceId: string; name: string; sourceName: string }
  destination: { destinationId: string; name: string; destinationName: string; destinationDefinitionId: string }
  latestSyncJobCreatedAt?: number
  createdAt?: number
}

interface FieldTransform {
  transformType: string
  fieldName: string[]
  breaking: boolean
}

interface StreamTransform {
  transformType: 'add_stream' | 'remove_stream' | 'update_stream'
  streamDescriptor: { name: string; namespace?: string }
  updateStream?: { fieldTransforms: FieldTransform[]; streamAttributeTransforms: Array<{ transformType: string; breaking: boolean }> }
}

const TABS = [
  { id: 'jobs', label: 'Jobs' },
  { id: 'schema', label: 'Schema' },
  { id: 'schedule', label: 'Schedule' },
  { id: 'settings', label: 'Settings' },
]

/** What a catalogDiff transform says, in words. */
function describeTransform(t: StreamTransform): string[] {
  const stream = t.streamDescriptor.namespace ? `${t.streamDescriptor.namespace}.${t.streamDescriptor.name}` : t.streamDescriptor.name
  if (t.transformType === 'add_stream') return [`New stream ${stream} (not selected until you select it)`]
  if (t.transformType === 'remove_stream') return [`Stream ${stream} is gone from the source`]
  const out = (t.updateStream?.fieldTransforms ?? []).map(
    (f) => `${stream}: ${f.transformType === 'add_field' ? 'new field' : f.transformType === 'remove_field' ? 'removed field' : 'type changed of'} ${f.fieldName.join('.')}${f.breaking ? ' (breaking)' : ''}`,
  )
  for (const a of t.updateStream?.streamAttributeTransforms ?? []) out.push(`${stream}: ${a.transformType.replaceAll('_', ' ')}${a.breaking ? ' (breaking)' : ''}`)
  return out
}

function SchemaTab({ connection, onSaved }: { connection: Connection; onSaved(): void }) {
  const [streams, setStreams] = useState(connection.syncCatalog.streams)
  const [catalogId, setCatalogId] = useState(connection.catalogId)
  const [modes, setModes] = useState<string[] | undefined>(undefined)
  const [review, setReview] = useState<{ transforms: StreamTransform[]; breaking: boolean; streams: CatalogEntry[]; catalogId?: string } | 'loading' | undefined>(undefined)
  const [refreshChanged, setRefreshChanged] = useState(true)
  const [errors, setErrors] = useState<string[]>([])
  const [message, setMessage] = useState<string | undefined>(undefined)
  const [saving, setSaving] = useState(false)
  const dirty = JSON.stringify(streams) !== JSON.stringify(connection.syncCatalog.streams)

  // A reload after saving brings the stored catalog: edit from it (the messages stay), unless
  // edits began before it landed (they are kept, as in the schedule tab).
  const stored = JSON.stringify(connection.syncCatalog.streams)
  const edited = useRef(false)
  const edit = (next: CatalogEntry[], nextCatalogId?: string): void => {
    edited.current = true
    setStreams(next)
    if (nextCatalogId) setCatalogId(nextCatalogId)
  }
  useEffect(() => {
    if (edited.current) return
    setStreams(JSON.parse(stored) as CatalogEntry[])
    setCatalogId(connection.catalogId)
  }, [stored, connection.catalogId])

  useEffect(() => {
    destinationModes(connection.destination.destinationDefinitionId).then(setModes, (e) => setErrors([errorMessage(e)]))
  }, [connection.destination.destinationDefinitionId])

  const checkChanges = async (): Promise<void> => {
    setReview('loading')
    setErrors([])
    try {
      const r = await post<{ catalogDiff?: { transforms: StreamTransform[] }; breakingChange?: boolean; syncCatalog: { streams: CatalogEntry[] }; catalogId?: string }>('web_backend/connections/get', {
        connectionId: connection.connectionId,
        withRefreshedCatalog: true,
      })
      if (!r.catalogDiff) {
        setReview(undefined)
        setErrors(['The source could not be discovered again: see its Test button for the reason.'])
        return
      }
      setReview({ transforms: r.catalogDiff.transforms, breaking: r.breakingChange === true, streams: r.syncCatalog.streams, ...(r.catalogId ? { catalogId: r.catalogId } : {}) })
    } catch (e) {
      setReview(undefined)
      setErrors(describeApiError(e))
    }
  }

  const save = async (): Promise<void> => {
    setSaving(true)
    setErrors([])
    setMessage(undefined)
    try {
      await post('web_backend/connections/update', {
        connectionId: connection.connectionId,
        syncCatalog: { streams },
        ...(catalogId ? { sourceCatalogId: catalogId } : {}),
        skipReset: !refreshChanged,
      })
      edited.current = false
      setMessage(refreshChanged ? 'Saved. Streams whose configuration or schema changed sync again from scratch (their records are kept).' : 'Saved.')
      onSaved()
    } catch (e) {
      setErrors(describeApiError(e))
    } finally {
      setSaving(false)
    }
  }

  const streamAction = async (what: 'refresh' | 'clear', e: CatalogEntry): Promise<void> => {
    const label = e.stream.name
    if (what === 'clear' && !window.confirm(`Clear the data and state of stream ${label}? The next sync reads it from the start.`)) return
    setErrors([])
    try {
      const streamsBody = [{ streamName: e.stream.name, ...(e.stream.namespace ? { streamNamespace: e.stream.namespace } : {}) }]
      if (what === 'refresh') await post('connections/refresh', { connectionId: connection.connectionId, refreshMode: 'Merge', streams: streamsBody })
      else await post('connections/clear/stream', { connectionId: connection.connectionId, streams: streamsBody })
      setMessage(what === 'refresh' ? `Refresh of ${label} started: see the Jobs tab.` : `Clearing ${label}: see the Jobs tab.`)
      onSaved()
    } catch (err) {
      setErrors(describeApiError(err))
    }
  }

  if (!modes) return errors.length > 0 ? <ErrorBox message={errors.join(' · ')} /> : <Spinner />
  return (
    <section aria-label="Schema">
      <div className="toolbar">
        <button type="button" onClick={() => void checkChanges()} disabled={review === 'loading'}>
          Check the source for schema changes
        </button>
      </div>
      {review === 'loading' ? <Spinner label="Discovering the source's schema" /> : null}
      {review !== undefined && review !== 'loading' ? (
        <div className={`card diff ${review.breaking ? 'breaking' : ''}`} role="region" aria-label="Schema changes">
          <h3>{review.transforms.length === 0 ? 'No schema changes' : `Schema changes${review.breaking ? ' (breaking)' : ''}`}</h3>
          <ul>
            {review.transforms.flatMap(describeTransform).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <div className="button-row">
            {review.transforms.length > 0 ? (
              <button
                type="button"
                className="primary"
                onClick={() => {
                  edit(fitToDestination(review.streams, modes), review.catalogId)
                  setReview(undefined)
                  setMessage('Changes applied below: review the streams, then save.')
                }}
              >
                Accept the changes
              </button>
            ) : null}
            <button type="button" onClick={() => setReview(undefined)}>
              Close
            </button>
          </div>
        </div>
      ) : null}
      <CatalogEditor
        streams={streams}
        destinationModes={modes}
        onChange={(next) => edit(next)}
        rowActions={(e) =>
          e.config.selected === false ? null : (
            <>
              <button type="button" onClick={() => void streamAction('refresh', e)} aria-label={`Refresh stream ${e.stream.name}`}>
                Refresh
              </button>
              <button type="button" onClick={() => void streamAction('clear', e)} aria-label={`Clear stream ${e.stream.name}`}>
                Clear
              </button>
            </>
          )
        }
      />
      <label className="inline">
        <input type="checkbox" checked={refreshChanged} onChange={(e) => setRefreshChanged(e.target.checked)} /> Sync changed streams again from scratch after saving
      </label>
      {errors.length > 0 ? <ErrorBox message={errors.join(' · ')} /> : null}
      {message ? <p className="notice" role="status">{message}</p> : null}
      <div className="button-row">
        <button type="button" className="primary" onClick={() => void save()} disabled={saving || !dirty}>
          {saving ? 'Saving…' : 'Save schema'}
        </button>
        <button
          type="button"
          onClick={() => {
            edited.current = false
            setStreams(connection.syncCatalog.streams)
            setCatalogId(connection.catalogId)
          }}
          disabled={!dirty}
        >
          Discard changes
        </button>
      </div>
    </section>
  )
}

function ScheduleTab({ connection, onSaved }: { connection: Connection; onSaved(): void }) {
  const [value, setValue] = useState<ScheduleFields>({ scheduleType: connection.scheduleType ?? 'manual', ...(connection.scheduleData ? { scheduleData: connection.scheduleData } : {}) })
  const [errors, setErrors] = useState<string[]>([])
  const [saved, setSaved] = useState(false)
  const next = nextRun(connection)
  const stored = JSON.stringify([connection.scheduleType, connection.scheduleData])
  // Unsaved edits: a reload of the connection (e.g. the one a save starts, landing after the
  // user began the next edit) must not replace them with the stored schedule.
  const edited = useRef(false)
  useEffect(() => {
    if (edited.current) return
    const [scheduleType, scheduleData] = JSON.parse(stored) as [ScheduleFields['scheduleType'], ScheduleFields['scheduleData']]
    setValue({ scheduleType: scheduleType ?? 'manual', ...(scheduleData ? { scheduleData } : {}) })
  }, [stored])
  const save = async (): Promise<void> => {
    setErrors([])
    setSaved(false)
    try {
      await post('connections/update', { connectionId: connection.connectionId, scheduleType: value.scheduleType, ...(value.scheduleData ? { scheduleData: value.scheduleData } : {}) })
      edited.current = false
      setSaved(true)
      onSaved()
    } catch (e) {
      setErrors(describeApiError(e))
    }
  }
  return (
    <section aria-label="Schedule">
      <p>
        Now: <strong data-testid="current-schedule">{describeSchedule(connection)}</strong>
        {next !== undefined ? <> · next run {relativeTime(next / 1000)} ({new Date(next).toLocaleString()})</> : null}
      </p>
      <ScheduleEditor
        value={value}
        onChange={(v) => {
          edited.current = true
          setValue(v)
          setSaved(false)
        }}
      />
      {errors.length > 0 ? <ErrorBox message={errors.join(' · ')} /> : null}
      {saved ? <p className="notice" role="status">Schedule saved.</p> : null}
      <button type="button" className="primary" onClick={() => void save()}>
        Save schedule
      </button>
    </section>
  )
}

function SettingsTab({ connection, onSaved }: { connection: Connection; onSaved(): void }) {
  const [name, setName] = useState(connection.name)
  const [namespaceDefinition, setNamespaceDefinition] = useState(connection.namespaceDefinition ?? 'source')
  const [namespaceFormat, setNamespaceFormat] = useState(connection.namespaceFormat ?? '${SOURCE_NAMESPACE}')
  const [prefix, setPrefix] = useState(connection.prefix ?? '')
  const [preference, setPreference] = useState(connection.nonBreakingChangesPreference ?? 'ignore')
  const [errors, setErrors] = useState<string[]>([])
  const [saved, setSaved] = useState(false)
  const save = async (): Promise<void> => {
    setErrors([])
    setSaved(false)
    try {
      await post('connections/update', {
        connectionId: connection.connectionId,
        name,
        namespaceDefinition,
        ...(namespaceDefinition === 'customformat' ? { namespaceFormat } : {}),
        prefix,
        nonBreakingChangesPreference: preference,
      })
      setSaved(true)
      onSaved()
    } catch (e) {
      setErrors(describeApiError(e))
    }
  }
  const act = async (what: 'clear' | 'delete'): Promise<void> => {
    const question = what === 'delete' ? `Delete connection "${connection.name}"? Its jobs stop; the data already synced stays.` : `Clear all data and state of "${connection.name}"? The next sync starts from scratch.`
    if (!window.confirm(question)) return
    try {
      if (what === 'delete') {
        await post('connections/delete', { connectionId: connection.connectionId })
        navigate('/connections', true)
      } else {
        await post('connections/clear', { connectionId: connection.connectionId })
        onSaved()
      }
    } catch (e) {
      setErrors(describeApiError(e))
    }
  }
  return (
    <section aria-label="Settings" className="form-page">
      <div className="field">
        <label htmlFor="set-name">Connection name</label>
        <input id="set-name" value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="set-ns">Destination namespace</label>
        <select id="set-ns" value={namespaceDefinition} onChange={(e) => setNamespaceDefinition(e.target.value)}>
          <option value="source">As in the source</option>
          <option value="destination">The destination's default</option>
          <option value="customformat">Custom format</option>
        </select>
      </div>
      {namespaceDefinition === 'customformat' ? (
        <div className="field">
          <label htmlFor="set-nsf">Namespace format</label>
          <input id="set-nsf" value={namespaceFormat} onChange={(e) => setNamespaceFormat(e.target.value)} />
        </div>
      ) : null}
      <div className="field">
        <label htmlFor="set-prefix">Stream prefix</label>
        <input id="set-prefix" value={prefix} onChange={(e) => setPrefix(e.target.value)} placeholder="e.g. faker_" />
      </div>
      <div className="field">
        <label htmlFor="set-pref">When the source schema changes without breaking</label>
        <select id="set-pref" value={preference} onChange={(e) => setPreference(e.target.value)}>
          <option value="ignore">Ignore (review them yourself)</option>
          <option value="disable">Disable the connection</option>
          <option value="propagate_columns">Propagate column changes</option>
          <option value="propagate_fully">Propagate all changes</option>
        </select>
      </div>
      {errors.length > 0 ? <ErrorBox message={errors.join(' · ')} /> : null}
      {saved ? <p className="notice" role="status">Settings saved.</p> : null}
      <div className="button-row">
        <button type="button" className="primary" onClick={() => void save()}>
          Save settings
        </button>
      </div>
      <h2>Danger zone</h2>
      <div className="button-row">
        <button type="button" className="danger" onClick={() => void act('clear')}>
          Clear all data
        </button>
        <button type="button" className="danger" onClick={() => void act('delete')}>
          Delete connection
        </button>
      </div>
    </section>
  )
}

/** One connection: header with toggle and Sync now / Cancel, then Jobs, Schema, Schedule, Settings tabs. */
export function ConnectionPage({ connectionId, tab }: { connectionId: string; tab: string }) {
  const [actionError, setActionError] = useState<string | undefined>(undefined)
  const connection = useLoad((signal) => post<Connection>('web_backend/connections/get', { connectionId }, signal), [connectionId])
  const jobs = useLoad(
    (signal) => post<{ jobs: JobItem[] }>('jobs/list', { configTypes: ['sync', 'refresh', 'reset_connection', 'clear'], configId: connectionId, pagination: { pageSize: 25 } }, signal),
    [connectionId],
    (d) => (d?.jobs.some((j) => ACTIVE_STATUSES.has(j.job.status)) ? 1000 : 10_000),
  )
  const c = connection.data
  if (!c) {
    return (
      <main className="page">
        <h1>Connection</h1>
        {connection.error ? <ErrorBox message={connection.error} onRetry={connection.reload} /> : <Spinner label="Loading the connection" />}
      </main>
    )
  }
  const activeJob = jobs.data?.jobs.find((j) => ACTIVE_STATUSES.has(j.job.status))
  const reloadAll = (): void => {
    connection.reload()
    jobs.reload()
  }
  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setActionError(undefined)
    try {
      await fn()
      reloadAll()
    } catch (e) {
      setActionError(errorMessage(e))
    }
  }
  const current = TABS.some((t) => t.id === tab) ? tab : 'jobs'
  return (
    <main className="page">
      <p className="crumbs">
        <Link to="/connections">Connections</Link> /
      </p>
      <div className="page-head">
        <h1>{c.name}</h1>
        <div className="button-row">
          <button
            type="button"
            role="switch"
            className="switch"
            aria-checked={c.status === 'active'}
            aria-label={c.status === 'active' ? 'Connection enabled: disable it' : 'Connection disabled: enable it'}
            onClick={() => void act(() => post('connections/update', { connectionId, status: c.status === 'active' ? 'inactive' : 'active' }))}
          />
          {activeJob ? (
            <button type="button" onClick={() => void act(() => post('jobs/cancel', { id: activeJob.job.id }))}>
              Cancel sync
            </button>
          ) : (
            <button type="button" className="primary" disabled={c.status !== 'active'} onClick={() => void act(() => post('connections/sync', { connectionId }))}>
              Sync now
            </button>
          )}
        </div>
      </div>
      <p className="subtitle">
        <Link to={`/sources/${c.source.sourceId}`}>{c.source.name}</Link> ({c.source.sourceName}) → <Link to={`/destinations/${c.destination.destinationId}`}>{c.destination.name}</Link> (
        {c.destination.destinationName}) · {describeSchedule(c)} · <StatusBadge status={c.status} />
      </p>
      {actionError ? <ErrorBox message={actionError} /> : null}
      <nav className="tabs" aria-label="Connection">
        {TABS.map((t) => (
          <Link key={t.id} to={`/connections/${connectionId}${t.id === 'jobs' ? '' : `/${t.id}`}`} aria-current={current === t.id ? 'page' : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {current === 'jobs' ? (
        jobs.data ? (
          <>
            {jobs.error ? <ErrorBox message={`Could not refresh: ${jobs.error}`} onRetry={jobs.reload} /> : null}
            <JobsTimeline jobs={jobs.data.jobs} onChanged={reloadAll} />
          </>
        ) : jobs.error ? (
          <ErrorBox message={jobs.error} onRetry={jobs.reload} />
        ) : (
          <Spinner label="Loading jobs" />
        )
      ) : null}
      {current === 'schema' ? <SchemaTab connection={c} onSaved={reloadAll} /> : null}
      {current === 'schedule' ? <ScheduleTab connection={c} onSaved={reloadAll} /> : null}
      {current === 'settings' ? <SettingsTab connection={c} onSaved={reloadAll} /> : null}
    </main>
  )
}
