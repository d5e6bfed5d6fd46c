import { post } from '../api.js'
import { useSession } from '../session.js'
import { dateTime } from '../format.js'
import { useLoad } from '../use-load.js'
import { Link } from '../router.js'
import { ErrorBox, Spinner } from '../widgets.js'
import type { ConnectionItem } from './connections-page.js'

/** SourceRead / DestinationRead, as one shape. */
export interface Actor {
  id: string
  definitionId: string
  name: string
  connectorName: string
  createdAt?: number
  connectionConfiguration: Record<string, unknown>
}

/** Reads a SourceRead or DestinationRead into {@link Actor}. */
export function toActor(kind: 'source' | 'destination', r: Record<string, any>): Actor {
  return {
    id: r[`${kind}Id`],
    definitionId: r[`${kind}DefinitionId`],
    name: r.name,
    connectorName: r[`${kind}Name`],
    createdAt: r.createdAt,
    connectionConfiguration: r.connectionConfiguration ?? {},
  }
}

/** Sources or destinations of the workspace, with the connections that use each. */
export function ActorsPage({ kind }: { kind: 'source' | 'destination' }) {
  const { workspaceId } = useSession()
  const title = kind === 'source' ? 'Sources' : 'Destinations'
  const loaded = useLoad(
    async (signal) => {
      const [actors, connections] = await Promise.all([
        post<Record<string, Array<Record<string, any>>>>(`${kind}s/list`, { workspaceId }, signal),
        post<{ connections: ConnectionItem[] }>('web_backend/connections/list', { workspaceId }, signal),
      ])
      return { actors: (actors[`${kind}s`] ?? []).map((a) => toActor(kind, a)), connections: connections.connections }
    },
    [kind, workspaceId],
  )
  const d = loaded.data
  return (
    <main className="page">
      <div className="page-head">
        <h1>{title}</h1>
        <Link to={`/${kind}s/new`} className="button primary">
          New {kind}
        </Link>
      </div>
      {loaded.error ? <ErrorBox message={loaded.error} onRetry={loaded.reload} /> : null}
      {!d ? (
        loaded.error ? null : <Spinner label={`Loading ${kind}s`} />
      ) : d.actors.length === 0 ? (
        <p className="empty">
          No {kind}s yet. <Link to={`/${kind}s/new`}>Create one</Link>.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Connector</th>
                <th scope="col">Connections</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {d.actors.map((a) => {
                const using = d.connections.filter((c) => (kind === 'source' ? c.source.sourceId : c.destination.destinationId) === a.id)
                return (
                  <tr key={a.id}>
                    <td>
                      <Link to={`/${kind}s/${a.id}`}>{a.name}</Link>
                    </td>
                    <td>{a.connectorName}</td>
                    <td>
                      {using.length === 0 ? (
                        <span className="muted">none</span>
                      ) : (
                        using.map((c, i) => (
                          <span key={c.connectionId}>
                            {i > 0 ? ', ' : ''}
                            <Link to={`/connections/${c.connectionId}`}>{c.name}</Link>
                          </span>
                        ))
                      )}
                    </td>
                    <td>{dateTime(a.createdAt)}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
    </main>
  )
}
