import { post } from '../api.js'
import { useSession } from '../session.js'
import { useLoad } from '../use-load.js'
import { Link } from '../router.js'
import { ErrorBox, Spinner } from '../widgets.js'

/** An empty install: three steps to a first sync (Faker into Local Files needs no set-up). */
export function FirstRun() {
  const { workspaceId } = useSession()
  const loaded = useLoad(async (signal) => {
    const [sources, destinations, sourceDefs, destinationDefs] = await Promise.all([
      post<{ sources: unknown[] }>('sources/list', { workspaceId }, signal),
      post<{ destinations: unknown[] }>('destinations/list', { workspaceId }, signal),
      post<{ sourceDefinitions: Array<{ sourceDefinitionId: string; name: string }> }>('source_definitions/list', {}, signal),
      post<{ destinationDefinitions: Array<{ destinationDefinitionId: string; name: string }> }>('destination_definitions/list', {}, signal),
    ])
    return {
      sources: sources.sources.length,
      destinations: destinations.destinations.length,
      faker: sourceDefs.sourceDefinitions.find((d) => d.name === 'Sample Data (Faker)')?.sourceDefinitionId,
      files: destinationDefs.destinationDefinitions.find((d) => d.name === 'Local Files')?.destinationDefinitionId,
    }
  }, [workspaceId])
  const d = loaded.data
  return (
    <main className="page">
      <h1>Welcome to sluice</h1>
      <p className="lead">No connections yet. Three steps to a first sync, with nothing to install: sample data from the Faker source into files on this machine.</p>
      {loaded.error ? <ErrorBox message={loaded.error} onRetry={loaded.reload} /> : null}
      {!d ? (
        <Spinner />
      ) : (
        <ol className="steps">
          <li className={d.sources > 0 ? 'done' : ''}>
            <strong>Add a source.</strong> {d.sources > 0 ? `${d.sources} source(s) ready. ` : ''}
            <Link to={d.faker ? `/sources/new?definitionId=${d.faker}` : '/sources/new'}>Create a Sample Data (Faker) source</Link>, or any other.
          </li>
          <li className={d.destinations > 0 ? 'done' : ''}>
            <strong>Add a destination.</strong> {d.destinations > 0 ? `${d.destinations} destination(s) ready. ` : ''}
            <Link to={d.files ? `/destinations/new?definitionId=${d.files}` : '/destinations/new'}>Create a Local Files destination</Link> (files under the server's data directory).
          </li>
          <li>
            <strong>Connect them and sync.</strong> <Link to="/connections/new">Create a connection</Link>, pick the streams, then press Sync now.
          </li>
        </ol>
      )}
    </main>
  )
}
