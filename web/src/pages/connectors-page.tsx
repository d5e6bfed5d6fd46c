import { useState, type FormEvent } from 'react'
import { errorMessage, post } from '../api.js'
import { useSession } from '../app.js'
import { useLoad } from '../use-load.js'
import { Link } from '../router.js'
import { ErrorBox, Spinner } from '../widgets.js'

interface DefinitionRow {
  id: string
  name: string
  kind: 'source' | 'destination'
  custom: boolean
  image: string
  docs?: string
}

async function loadDefinitions(signal: AbortSignal): Promise<DefinitionRow[]> {
  const [s, d] = await Promise.all([
    post<{ sourceDefinitions: Array<Record<string, any>> }>('source_definitions/list', {}, signal),
    post<{ destinationDefinitions: Array<Record<string, any>> }>('destination_definitions/list', {}, signal),
  ])
  const row = (kind: 'source' | 'destination', x: Record<string, any>): DefinitionRow => ({
    id: x[`${kind}DefinitionId`],
    name: x.name,
    kind,
    custom: x.custom === true,
    image: `${x.dockerRepository ?? ''}:${x.dockerImageTag ?? ''}`,
    ...(x.documentationUrl ? { docs: x.documentationUrl } : {}),
  })
  return [...s.sourceDefinitions.map((x) => row('source', x)), ...d.destinationDefinitions.map((x) => row('destination', x))].sort(
    (a, b) => Number(a.custom) - Number(b.custom) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
  )
}

/** Adds a declarative manifest (YAML or JSON) from a file or a URL as a custom source definition. */
function AddManifest({ onAdded }: { onAdded(name: string): void }) {
  const { workspaceId } = useSession()
  const [from, setFrom] = useState<'file' | 'url'>('file')
  const [file, setFile] = useState<File | undefined>(undefined)
  const [url, setUrl] = useState('')
  const [name, setName] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    setError(undefined)
    setBusy(true)
    try {
      let text: string
      if (from === 'file') {
        if (!file) throw new Error('Choose a manifest file.')
        text = await file.text()
      } else {
        let res: Response
        try {
          res = await fetch(url.trim())
        } catch {
          throw new Error(`Could not download ${url.trim()}: network error, or the server does not allow this page to read it (CORS). Download the file and add it from the file instead.`)
        }
        if (!res.ok) throw new Error(`Could not download ${url.trim()}: HTTP ${res.status}.`)
        text = await res.text()
      }
      const def = await post<{ name: string }>('source_definitions/create', { workspaceId, manifest: text, ...(name.trim() ? { name: name.trim() } : {}) })
      onAdded(def.name)
      setFile(undefined)
      setUrl('')
      setName('')
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="add-manifest-title">
      <h2 id="add-manifest-title">Add a declarative manifest</h2>
      <p className="muted">An Airbyte low-code <code>manifest.yaml</code> becomes a custom source, run natively by sluice.</p>
      <fieldset className="radio-row">
        <legend>From</legend>
        <label className="inline">
          <input type="radio" name="manifest-from" checked={from === 'file'} onChange={() => setFrom('file')} /> a file
        </label>
        <label className="inline">
          <input type="radio" name="manifest-from" checked={from === 'url'} onChange={() => setFrom('url')} /> a URL
        </label>
      </fieldset>
      {from === 'file' ? (
        <div className="field">
          <label htmlFor="manifest-file">Manifest file (YAML or JSON)</label>
          <input id="manifest-file" type="file" accept=".yaml,.yml,.json,text/yaml,application/json" onChange={(e) => setFile(e.target.files?.[0])} />
        </div>
      ) : (
        <div className="field">
          <label htmlFor="manifest-url">Manifest URL</label>
          <input id="manifest-url" type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…/manifest.yaml" />
        </div>
      )}
      <div className="field">
        <label htmlFor="manifest-name">Name (optional: taken from the manifest)</label>
        <input id="manifest-name" value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      {error ? <ErrorBox message={error} /> : null}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add connector'}
      </button>
    </form>
  )
}

/** Built-in and custom connector definitions; add a manifest. */
export function ConnectorsPage() {
  const loaded = useLoad(loadDefinitions, [])
  const [added, setAdded] = useState<string | undefined>(undefined)
  return (
    <main className="page">
      <h1>Connectors</h1>
      {added ? (
        <p className="notice" role="status">
          Added “{added}”. <Link to="/sources/new">Create a source with it</Link>.
        </p>
      ) : null}
      <div className="two-columns">
        <div>
          {loaded.error ? <ErrorBox message={loaded.error} onRetry={loaded.reload} /> : null}
          {!loaded.data ? (
            loaded.error ? null : <Spinner label="Loading connectors" />
          ) : (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Origin</th>
                    <th scope="col">Image / version</th>
                  </tr>
                </thead>
                <tbody>
                  {loaded.data.map((d) => (
                    <tr key={`${d.kind}-${d.id}`}>
                      <th scope="row">{d.docs ? <a href={d.docs} target="_blank" rel="noreferrer">{d.name}</a> : d.name}</th>
                      <td>{d.kind}</td>
                      <td>{d.custom ? <span className="badge badge-custom">custom</span> : 'built-in'}</td>
                      <td className="muted">{d.image}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <AddManifest
          onAdded={(name) => {
            setAdded(name)
            loaded.reload()
          }}
        />
      </div>
    </main>
  )
}
