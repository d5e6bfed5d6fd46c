import { useEffect, useRef, useState } from 'react'
import { errorMessage, post } from '../api.js'
import { bytes, count, dateTime, duration } from '../format.js'
import { useLoad } from '../use-load.js'
import { ErrorBox, Spinner, StatusBadge } from '../widgets.js'

interface Stats {
  recordsEmitted?: number
  bytesEmitted?: number
  recordsCommitted?: number
  bytesCommitted?: number
}

/** AttemptRead (the fields shown). */
export interface Attempt {
  id: number
  status: string
  createdAt: number
  endedAt?: number
  totalStats?: Stats
  streamStats?: Array<{ streamName: string; streamNamespace?: string; stats: Stats }>
  failureSummary?: { failures: Array<{ failureOrigin?: string; failureType?: string; externalMessage?: string }> }
}

/** A jobs/list item. */
export interface JobItem {
  job: { id: number; configType: string; status: string; createdAt: number; updatedAt: number; aggregatedStats?: Stats }
  attempts: Attempt[]
}

export const ACTIVE_STATUSES = new Set(['pending', 'running', 'incomplete'])

const JOB_LABEL: Record<string, string> = { sync: 'Sync', refresh: 'Refresh', reset_connection: 'Clear', clear: 'Clear' }

/** The log of one attempt: live tail while it runs (polling attempt/get_for_job), download. */
function AttemptLog({ jobId, attempt, running }: { jobId: number; attempt: number; running: boolean }) {
  const [follow, setFollow] = useState(true)
  const pre = useRef<HTMLPreElement>(null)
  const log = useLoad(
    async (signal) => (await post<{ logs?: { logLines?: string[] } }>('attempt/get_for_job', { jobId, attemptNumber: attempt }, signal)).logs?.logLines ?? [],
    [jobId, attempt],
    running ? 1500 : undefined,
  )
  const lines = log.data
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight
  }, [lines, follow])
  const download = (): void => {
    const blob = new Blob([(lines ?? []).join('\n') + '\n'], { type: 'text/plain' })
    const a = document.createElement('a')
    a.href = URL.createObjectURL(blob)
    a.download = `sluice-job-${jobId}-attempt-${attempt}.log`
    a.click()
    URL.revokeObjectURL(a.href)
  }
  return (
    <section className="log" aria-label={`Log of job ${jobId}, attempt ${attempt + 1}`}>
      <div className="toolbar">
        <strong>Log</strong>
        {running ? (
          <label className="inline">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow (live)
          </label>
        ) : null}
        <button type="button" onClick={download} disabled={!lines}>
          Download log
        </button>
        <span className="muted">{lines ? `${lines.length} lines` : ''}</span>
      </div>
      {log.error ? <ErrorBox message={log.error} onRetry={log.reload} /> : null}
      {!lines ? (
        <Spinner label="Loading the log" />
      ) : (
        <pre ref={pre} className="log-lines" tabIndex={0} data-testid="attempt-log">
          {lines.length === 0 ? 'No log lines yet.' : lines.join('\n')}
        </pre>
      )}
    </section>
  )
}

/** Per-stream counts of an attempt. */
function StreamStats({ attempt }: { attempt: Attempt }) {
  const streams = attempt.streamStats ?? []
  if (streams.length === 0) return null
  return (
    <table className="table compact">
      <caption>Per stream</caption>
      <thead>
        <tr>
          <th scope="col">Stream</th>
          <th scope="col">Records read</th>
          <th scope="col">Records committed</th>
          <th scope="col">Bytes committed</th>
        </tr>
      </thead>
      <tbody>
        {streams.map((s) => (
          <tr key={`${s.streamNamespace ?? ''}.${s.streamName}`}>
            <th scope="row">{s.streamNamespace ? `${s.streamNamespace}.${s.streamName}` : s.streamName}</th>
            <td className="num">{count(s.stats.recordsEmitted)}</td>
            <td className="num">{count(s.stats.recordsCommitted)}</td>
            <td className="num">{bytes(s.stats.bytesCommitted)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Timeline of the connection's jobs and their attempts; one open at a time with its log. */
export function JobsTimeline({ jobs, onChanged }: { jobs: JobItem[]; onChanged(): void }) {
  const [open, setOpen] = useState<{ job: number; attempt: number } | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  if (jobs.length === 0) return <p className="empty">No jobs yet. Press Sync now to run the first sync.</p>
  const cancel = async (id: number): Promise<void> => {
    try {
      await post('jobs/cancel', { id })
      onChanged()
    } catch (e) {
      setError(errorMessage(e))
    }
  }
  return (
    <>
      {error ? <ErrorBox message={error} /> : null}
      <ol className="timeline">
        {jobs.map(({ job, attempts }) => {
          const last = attempts[attempts.length - 1]
          const active = ACTIVE_STATUSES.has(job.status)
          const failure = [...attempts].reverse().find((a) => a.failureSummary)?.failureSummary?.failures[0]
          const shown = open?.job === job.id ? open.attempt : undefined
          return (
            <li key={job.id} className={`job job-${job.status}`} data-job-id={job.id}>
              <div className="job-head">
                <StatusBadge status={job.status} />
                <strong>
                  {JOB_LABEL[job.configType] ?? job.configType} #{job.id}
                </strong>
                <span>{dateTime(job.createdAt)}</span>
                <span className="muted">{duration(job.createdAt, active ? undefined : (last?.endedAt ?? job.updatedAt))}</span>
                <span>
                  {count(job.aggregatedStats?.recordsCommitted)} records · {bytes(job.aggregatedStats?.bytesCommitted)}
                </span>
                {active ? (
                  <button type="button" onClick={() => void cancel(job.id)}>
                    Cancel
                  </button>
                ) : null}
              </div>
              {failure && job.status !== 'succeeded' ? (
                <p className="failure">
                  {failure.failureOrigin ? `${failure.failureOrigin}: ` : ''}
                  {failure.externalMessage ?? failure.failureType}
                </p>
              ) : null}
              <ul className="attempts">
                {attempts.map((a) => (
                  <li key={a.id}>
                    <button
                      type="button"
                      className="link"
                      aria-expanded={shown === a.id}
                      onClick={() => setOpen(shown === a.id ? undefined : { job: job.id, attempt: a.id })}
                    >
                      Attempt {a.id + 1}
                    </button>{' '}
                    <StatusBadge status={a.status} /> {count(a.totalStats?.recordsCommitted)} records committed, {bytes(a.totalStats?.bytesCommitted)},{' '}
                    {duration(a.createdAt, a.endedAt)}
                    {a.failureSummary?.failures[0]?.externalMessage ? <span className="failure"> — {a.failureSummary.failures[0].externalMessage}</span> : null}
                    {shown === a.id ? (
                      <div className="attempt-detail">
                        <StreamStats attempt={a} />
                        <AttemptLog jobId={job.id} attempt={a.id} running={a.status === 'running'} />
                      </div>
                    ) : null}
                  </li>
                ))}
                {attempts.length === 0 ? <li className="muted">Waiting for a worker…</li> : null}
              </ul>
            </li>
          )
        })}
      </ol>
    </>
  )
}
