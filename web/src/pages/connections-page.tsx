import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { errorMessage, post } from '../api.js'
import { useSession } from '../session.js'
import { count, relativeTime } from '../format.js'
import { useLoad } from '../use-load.js'
import { Link } from '../router.js'
import { describeSchedule, nextRun, type ScheduleFields } from '../schedule.js'
import { ErrorBox, Spinner, StatusBadge } from '../widgets.js'
import { FirstRun } from './first-run.js'

/** A WebBackendConnectionListItem (the fields this page reads). */
export interface ConnectionItem extends ScheduleFields {
  connectionId: string
  name: string
  status: 'active' | 'inactive' | 'deprecated'
  source: { sourceId: string; name: string; sourceName: string }
  destination: { destinationId: string; name: string; destinationName: string }
  isSyncing: boolean
  latestSyncJobCreatedAt?: number
  latestSyncJobStatus?: string
  schemaChange: 'no_change' | 'non_breaking' | 'breaking'
}

/** The newest job of a connection, from jobs/list. */
interface LatestJob {
  id: number
  status: string
  records: number | undefined
}

const ACTIVE_JOB = new Set(['pending', 'running', 'incomplete'])

/** What the schema badge means (the last schema check before a sync found it; docs/schema-changes.md). */
const SCHEMA_CHANGE_HINTS = {
  non_breaking: 'The source schema changed: review the changes in the Schema tab and save them.',
  breaking: 'A breaking source schema change disabled this connection: review the changes in the Schema tab.',
} as const

/** Rows rendered at first and added per step: a long list paints its first screen at once. */
const PAGE_ROWS = 150

/** Connections, their newest jobs (one jobs/list call for all), for the list. */
async function loadConnections(workspaceId: string, signal: AbortSignal): Promise<{ connections: ConnectionItem[]; latest: Map<string, LatestJob> }> {
  const [list, jobs] = await Promise.all([
    post<{ connections: ConnectionItem[] }>('web_backend/connections/list', { workspaceId }, signal),
    post<{ jobs: Array<{ job: { id: number; configId: string; status: string; aggregatedStats?: { recordsCommitted?: number }; summary?: { recordsSynced?: number } } }> }>(
      'jobs/list',
      { configTypes: ['sync', 'refresh', 'reset_connection'], pagination: { pageSize: 500 } },
      signal,
    ),
  ])
  const latest = new Map<string, LatestJob>()
  for (const { job } of jobs.jobs) {
    if (!latest.has(job.configId)) latest.set(job.configId, { id: job.id, status: job.status, records: job.summary?.recordsSynced ?? job.aggregatedStats?.recordsCommitted })
  }
  return { connections: list.connections, latest }
}

/** One row; memoised so that a poll or a filter re-renders only the rows that changed. */
const ConnectionRow = memo(function ConnectionRow({ c, job, busy, act }: { c: ConnectionItem; job: LatestJob | undefined; busy: boolean; act(key: string, fn: () => Promise<unknown>): void }) {
  const running = job !== undefined && ACTIVE_JOB.has(job.status)
  const next = nextRun(c)
  return (
    <tr data-connection-id={c.connectionId}>
      <td data-label="Enabled">
        <button
          type="button"
          role="switch"
          className="switch"
          aria-checked={c.status === 'active'}
          aria-label={`${c.status === 'active' ? 'Disable' : 'Enable'} ${c.name}`}
          disabled={busy}
          onClick={() => act(`toggle-${c.connectionId}`, () => post('connections/update', { connectionId: c.connectionId, status: c.status === 'active' ? 'inactive' : 'active' }))}
        />
      </td>
      <td data-label="Name">
        <Link to={`/connections/${c.connectionId}`}>{c.name}</Link>
        {c.schemaChange !== 'no_change' ? (
          <span className={`badge badge-schema-${c.schemaChange}`} title={SCHEMA_CHANGE_HINTS[c.schemaChange]}>
            schema {c.schemaChange.replace('_', '-')}
          </span>
        ) : null}
      </td>
      <td data-label="Route">
        {c.source.name} <span aria-hidden="true">→</span><span className="visually-hidden">to</span> {c.destination.name}
      </td>
      <td data-label="Last sync">
        <StatusBadge status={job?.status ?? c.latestSyncJobStatus} /> <span className="muted">{relativeTime(c.latestSyncJobCreatedAt)}</span>
      </td>
      <td className="num" data-label="Records">{count(job?.records)}</td>
      <td title={describeSchedule(c)} data-label="Next run">{next === undefined ? <span className="muted">{c.status === 'active' ? describeSchedule(c) : 'disabled'}</span> : relativeTime(next / 1000)}</td>
      <td className="actions">
        {running ? (
          <button type="button" disabled={busy} onClick={() => act(`cancel-${c.connectionId}`, () => post('jobs/cancel', { id: job.id }))} aria-label={`Cancel the sync of ${c.name}`}>
            Cancel
          </button>
        ) : (
          <button
            type="button"
            disabled={busy || c.status !== 'active'}
            onClick={() => act(`sync-${c.connectionId}`, () => post('connections/sync', { connectionId: c.connectionId }))}
            aria-label={`Sync ${c.name} now`}
          >
            Sync now
          </button>
        )}
      </td>
    </tr>
  )
})

/** Connections: status, last and next sync, a toggle, Sync now / Cancel, a filter; polls while jobs run. */
export function ConnectionsPage() {
  const { workspaceId } = useSession()
  const [text, setText] = useState('')
  const [statusFilter, setStatusFilter] = useState('all')
  const [actionError, setActionError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState<string | undefined>(undefined)
  const [limit, setLimit] = useState(PAGE_ROWS)
  const more = useRef<HTMLButtonElement>(null)
  const loaded = useLoad((signal) => loadConnections(workspaceId, signal), [workspaceId], (d) =>
    d && [...d.latest.values()].some((j) => ACTIVE_JOB.has(j.status)) ? 1500 : 10_000,
  )
  const data = loaded.data

  const rows = useMemo(() => {
    if (!data) return []
    const needle = text.trim().toLowerCase()
    return data.connections.filter((c) => {
      const job = data.latest.get(c.connectionId)
      if (statusFilter === 'active' || statusFilter === 'inactive') {
        if (c.status !== statusFilter) return false
      } else if (statusFilter === 'running') {
        if (!job || !ACTIVE_JOB.has(job.status)) return false
      } else if (statusFilter === 'failed') {
        if (c.latestSyncJobStatus !== 'failed') return false
      }
      if (needle === '') return true
      return [c.name, c.source.name, c.source.sourceName, c.destination.name, c.destination.destinationName].some((s) => s.toLowerCase().includes(needle))
    })
  }, [data, text, statusFilter])

  const reload = loaded.reload
  const act = useCallback(
    (key: string, fn: () => Promise<unknown>): void => {
      setBusy(key)
      setActionError(undefined)
      fn()
        .then(reload, (e: unknown) => setActionError(errorMessage(e)))
        .finally(() => setBusy(undefined))
    },
    [reload],
  )

  useEffect(() => setLimit(PAGE_ROWS), [text, statusFilter])
  // More rows come as the end of the list scrolls into view (the button does it from the keyboard).
  useEffect(() => {
    const el = more.current
    if (!el) return
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setLimit((n) => n + PAGE_ROWS)
    })
    observer.observe(el)
    return () => observer.disconnect()
  }, [rows.length, limit])

  if (!data && loaded.error) return <main className="page"><h1>Connections</h1><ErrorBox message={loaded.error} onRetry={loaded.reload} /></main>
  if (!data) return <main className="page"><h1>Connections</h1><Spinner label="Loading connections" /></main>
  if (data.connections.length === 0) return <FirstRun />

  return (
    <main className="page">
      <div className="page-head">
        <h1>Connections</h1>
        <Link to="/connections/new" className="button primary">
          New connection
        </Link>
      </div>
      <div className="toolbar" role="search">
        <label>
          <span className="visually-hidden">Filter connections</span>
          <input type="search" placeholder="Filter by name, source or destination" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <label>
          <span className="visually-hidden">Status</span>
          <select value={statusFilter} onChange={(e) => setStatusFilter(e.target.value)} aria-label="Status filter">
            <option value="all">All statuses</option>
            <option value="active">Active</option>
            <option value="inactive">Inactive</option>
            <option value="running">Running</option>
            <option value="failed">Last sync failed</option>
          </select>
        </label>
        <span className="muted" aria-live="polite">
          {rows.length} of {data.connections.length}
        </span>
      </div>
      {loaded.error ? <ErrorBox message={`Could not refresh: ${loaded.error}`} onRetry={loaded.reload} /> : null}
      {actionError ? <ErrorBox message={actionError} /> : null}
      <div className="table-wrap">
        <table className="table cards">
          <thead>
            <tr>
              <th scope="col">Enabled</th>
              <th scope="col">Name</th>
              <th scope="col">Source → destination</th>
              <th scope="col">Last sync</th>
              <th scope="col">Records</th>
              <th scope="col">Next run</th>
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, limit).map((c) => (
              <ConnectionRow key={c.connectionId} c={c} job={data.latest.get(c.connectionId)} busy={busy !== undefined} act={act} />
            ))}
          </tbody>
        </table>
      </div>
      {rows.length > limit ? (
        <div className="button-row">
          <button type="button" ref={more} onClick={() => setLimit((n) => n + PAGE_ROWS)}>
            Show {Math.min(PAGE_ROWS, rows.length - limit)} more
          </button>
          <button type="button" onClick={() => setLimit(rows.length)}>
            Show all {rows.length}
          </button>
        </div>
      ) : null}
    </main>
  )
}
