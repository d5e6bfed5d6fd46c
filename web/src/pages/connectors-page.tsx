import { useState, type FormEvent } from 'react'
import { ApiError, errorMessage, post } from '../api.js'
import { useSession } from '../session.js'
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

const IMAGE_FIELDS = [
  { key: 'name', label: 'Name', placeholder: 'HubSpot' },
  { key: 'dockerRepository', label: 'Docker repository', placeholder: 'airbyte/source-hubspot' },
  { key: 'dockerImageTag', label: 'Tag', placeholder: '4.5.1' },
  { key: 'documentationUrl', label: 'Documentation URL (optional)', placeholder: 'https://docs.airbyte.com/…' },
] as const

type ImageField = (typeof IMAGE_FIELDS)[number]['key']

/**
 * Adds an Airbyte connector image (`*_definitions/create_custom`): the server runs its `spec`
 * with the configured runner and stores it. A 422 names the field; other errors (an image that
 * cannot run) show above the button.
 */
function AddImage({ onAdded }: { onAdded(name: string, kind: 'source' | 'destination'): void }) {
  const { workspaceId } = useSession()
  const [kind, setKind] = useState<'source' | 'destination'>('source')
  const [values, setValues] = useState<Record<ImageField, string>>({ name: '', dockerRepository: '', dockerImageTag: '', documentationUrl: '' })
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<ImageField, string>>>({})
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    setError(undefined)
    setFieldErrors({})
    setBusy(true)
    try {
      const definition = {
        name: values.name.trim(),
        dockerRepository: values.dockerRepository.trim(),
        dockerImageTag: values.dockerImageTag.trim(),
        ...(values.documentationUrl.trim() ? { documentationUrl: values.documentationUrl.trim() } : {}),
      }
      const def = await post<{ name: string }>(`${kind}_definitions/create_custom`, { workspaceId, [`${kind}Definition`]: definition })
      onAdded(def.name, kind)
      setValues({ name: '', dockerRepository: '', dockerImageTag: '', documentationUrl: '' })
    } catch (err) {
      const byField: Partial<Record<ImageField, string>> = {}
      const other: string[] = []
      for (const f of err instanceof ApiError ? err.fieldErrors : []) {
        const key = IMAGE_FIELDS.find((x) => f.propertyPath === `${kind}Definition.${x.key}`)?.key
        if (key) byField[key] = f.message
        else other.push(`${f.propertyPath}: ${f.message}`)
      }
      setFieldErrors(byField)
      if (Object.keys(byField).length === 0 || other.length > 0) setError(other.length > 0 ? other.join('; ') : errorMessage(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <form className="card" noValidate onSubmit={(e) => void submit(e)} aria-labelledby="add-image-title">
      <h2 id="add-image-title">Add a connector image</h2>
      <p className="muted">
        An Airbyte connector image, run by the connector runner (<code>SLUICE_CONNECTOR_RUNNER</code>: docker, podman or local executables). Its spec is
        read when you add it, which may pull the image first.
      </p>
      <fieldset className="radio-row">
        <legend>Kind</legend>
        <label className="inline">
          <input type="radio" name="image-kind" checked={kind === 'source'} onChange={() => setKind('source')} /> source
        </label>
        <label className="inline">
          <input type="radio" name="image-kind" checked={kind === 'destination'} onChange={() => setKind('destination')} /> destination
        </label>
      </fieldset>
      {IMAGE_FIELDS.map((f) => (
        <div className="field" key={f.key}>
          <label htmlFor={`image-${f.key}`}>{f.label}</label>
          <input
            id={`image-${f.key}`}
            type={f.key === 'documentationUrl' ? 'url' : 'text'}
            value={values[f.key]}
            placeholder={f.placeholder}
            aria-invalid={fieldErrors[f.key] ? true : undefined}
            aria-describedby={fieldErrors[f.key] ? `image-${f.key}-error` : undefined}
            onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
          />
          {fieldErrors[f.key] ? (
            <p className="field-error" id={`image-${f.key}-error`}>
              {fieldErrors[f.key]}
            </p>
          ) : null}
        </div>
      ))}
      {error ? <ErrorBox message={error} /> : null}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add image'}
      </button>
    </form>
  )
}

/** Built-in and custom connector definitions; add a manifest or a connector image. */
export function ConnectorsPage() {
  const loaded = useLoad(loadDefinitions, [])
  const [added, setAdded] = useState<{ name: string; kind: 'source' | 'destination' } | undefined>(undefined)
  return (
    <main className="page">
      <h1>Connectors</h1>
      {added ? (
        <p className="notice" role="status">
          Added “{added.name}”. <Link to={`/${added.kind}s/new`}>Create a {added.kind} with it</Link>.
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
        <div>
          <AddManifest
            onAdded={(name) => {
              setAdded({ name, kind: 'source' })
              loaded.reload()
            }}
          />
          <AddImage
            onAdded={(name, kind) => {
              setAdded({ name, kind })
              loaded.reload()
            }}
          />
        </div>
      </div>
    </main>
  )
}
