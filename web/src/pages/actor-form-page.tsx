import type { ErrorSchema } from '@rjsf/utils'
import { useState } from 'react'
import { ApiError, errorMessage, post } from '../api.js'
import { useSession } from '../session.js'
import { useLoad } from '../use-load.js'
import { Link, navigate, useLocation } from '../router.js'
import { serverErrorSchema, SpecForm } from '../spec-form.js'
import { ErrorBox, Spinner } from '../widgets.js'
import { toActor, type Actor } from './actors-page.js'
import type { ConnectionItem } from './connections-page.js'

interface Definition {
  id: string
  name: string
  custom: boolean
}

interface CheckResult {
  status: 'succeeded' | 'failed'
  message?: string
}

/** Definitions of one kind, sorted by name. */
export async function listDefinitions(kind: 'source' | 'destination', signal?: AbortSignal): Promise<Definition[]> {
  const r = await post<Record<string, Array<Record<string, any>>>>(`${kind}_definitions/list`, {}, signal)
  return (r[`${kind}Definitions`] ?? []).map((d) => ({ id: d[`${kind}DefinitionId`], name: d.name, custom: d.custom === true })).sort((a, b) => a.name.localeCompare(b.name))
}

async function loadSpec(kind: 'source' | 'destination', definitionId: string, signal?: AbortSignal): Promise<Record<string, any>> {
  const r = await post<{ connectionSpecification: Record<string, any> }>(`${kind}_definition_specifications/get`, { [`${kind}DefinitionId`]: definitionId }, signal)
  return r.connectionSpecification
}

/**
 * Create or edit a source or destination: the connector's spec as a form, Test (check_connection
 * of the form's values, nothing saved), Save, Delete. Secrets come back masked and are kept by
 * the server when sent back masked.
 */
export function ActorFormPage({ kind, actorId }: { kind: 'source' | 'destination'; actorId?: string }) {
  const { workspaceId } = useSession()
  const { query } = useLocation()
  const [definitionId, setDefinitionId] = useState(query.get('definitionId') ?? '')
  const [name, setName] = useState('')
  const [formData, setFormData] = useState<Record<string, unknown>>({})
  const [serverErrors, setServerErrors] = useState<ErrorSchema | undefined>(undefined)
  const [formError, setFormError] = useState<string | undefined>(undefined)
  const [check, setCheck] = useState<CheckResult | 'running' | undefined>(undefined)
  const [saving, setSaving] = useState(false)
  const [saved, setSaved] = useState(query.get('saved') === '1')

  const existing = useLoad(
    async (signal) => {
      if (!actorId) return undefined
      const [read, connections] = await Promise.all([
        post<Record<string, any>>(`${kind}s/get`, { [`${kind}Id`]: actorId }, signal),
        post<{ connections: ConnectionItem[] }>('web_backend/connections/list', { workspaceId, [`${kind}Id`]: [actorId] }, signal),
      ])
      const actor = toActor(kind, read)
      setName(actor.name)
      setDefinitionId(actor.definitionId)
      setFormData(actor.connectionConfiguration)
      return { actor, connections: connections.connections }
    },
    [kind, actorId],
  )
  const definitions = useLoad((signal) => listDefinitions(kind, signal), [kind])
  const spec = useLoad(async (signal) => (definitionId ? loadSpec(kind, definitionId, signal) : undefined), [kind, definitionId])

  const connectorName = definitions.data?.find((d) => d.id === definitionId)?.name

  const showError = (e: unknown): void => {
    if (e instanceof ApiError && e.status === 422 && e.fieldErrors.length > 0) {
      const { tree, other } = serverErrorSchema(e.fieldErrors)
      setServerErrors(tree)
      setFormError(other.length > 0 ? other.join('; ') : 'Some fields are not valid: see the messages below each field.')
    } else {
      setFormError(errorMessage(e))
    }
  }

  const runCheck = async (): Promise<void> => {
    setCheck('running')
    setFormError(undefined)
    setServerErrors(undefined)
    try {
      const result = actorId
        ? await post<CheckResult>(`${kind}s/check_connection_for_update`, { [`${kind}Id`]: actorId, name, connectionConfiguration: formData })
        : await post<CheckResult>(`scheduler/${kind}s/check_connection`, { [`${kind}DefinitionId`]: definitionId, connectionConfiguration: formData })
      setCheck(result)
    } catch (e) {
      setCheck(undefined)
      showError(e)
    }
  }

  const save = async (data: Record<string, unknown>): Promise<void> => {
    setSaving(true)
    setSaved(false)
    setFormError(undefined)
    setServerErrors(undefined)
    try {
      // An empty name takes the connector's, as the placeholder shows.
      const finalName = name.trim() || connectorName || kind
      if (actorId) {
        await post(`${kind}s/update`, { [`${kind}Id`]: actorId, name: finalName, connectionConfiguration: data })
        setSaved(true)
        existing.reload()
      } else {
        const created = await post<Record<string, any>>(`${kind}s/create`, { workspaceId, [`${kind}DefinitionId`]: definitionId, name: finalName, connectionConfiguration: data })
        navigate(`/${kind}s/${created[`${kind}Id`]}?saved=1`, true)
      }
    } catch (e) {
      showError(e)
    } finally {
      setSaving(false)
    }
  }

  const remove = async (actor: Actor): Promise<void> => {
    if (!window.confirm(`Delete ${kind} "${actor.name}"? Its connections are deleted too.`)) return
    try {
      await post(`${kind}s/delete`, { [`${kind}Id`]: actor.id })
      navigate(`/${kind}s`, true)
    } catch (e) {
      setFormError(errorMessage(e))
    }
  }

  const title = actorId ? (existing.data?.actor.name ?? `Edit ${kind}`) : `New ${kind}`
  if (actorId && !existing.data) {
    return (
      <main className="page">
        <h1>{title}</h1>
        {existing.error ? <ErrorBox message={existing.error} onRetry={existing.reload} /> : <Spinner />}
      </main>
    )
  }
  return (
    <main className="page form-page">
      <p className="crumbs">
        <Link to={`/${kind}s`}>{kind === 'source' ? 'Sources' : 'Destinations'}</Link> /
      </p>
      <h1>{title}</h1>
      {saved ? (
        <p className="notice" role="status">
          Saved.{' '}
          {kind === 'source' && actorId ? <Link to={`/connections/new?sourceId=${actorId}`}>Create a connection from this source</Link> : null}
          {kind === 'destination' && actorId ? <Link to={`/connections/new?destinationId=${actorId}`}>Create a connection to this destination</Link> : null}
        </p>
      ) : null}
      <div className="field">
        <label htmlFor="connector">Connector</label>
        {actorId ? (
          <input id="connector" value={connectorName ?? existing.data?.actor.connectorName ?? ''} readOnly />
        ) : (
          <select id="connector" value={definitionId} onChange={(e) => { setDefinitionId(e.target.value); setFormData({}); setCheck(undefined); setServerErrors(undefined) }}>
            <option value="">Choose a connector…</option>
            {(definitions.data ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
                {d.custom ? ' (custom)' : ''}
              </option>
            ))}
          </select>
        )}
      </div>
      {definitions.error ? <ErrorBox message={definitions.error} onRetry={definitions.reload} /> : null}
      {definitionId ? (
        <div className="field">
          <label htmlFor="actor-name">Name</label>
          <input id="actor-name" value={name} onChange={(e) => setName(e.target.value)} placeholder={connectorName ?? ''} />
        </div>
      ) : null}
      {spec.error ? <ErrorBox message={spec.error} onRetry={spec.reload} /> : null}
      {definitionId && !spec.data && !spec.error ? <Spinner label="Loading the connector's settings" /> : null}
      {spec.data ? (
        <SpecForm key={definitionId} spec={spec.data} formData={formData} onChange={setFormData} onSubmit={(d) => void save(d)} serverErrors={serverErrors} disabled={saving}>
          {formError ? <ErrorBox message={formError} /> : null}
          {check === 'running' ? <Spinner label="Testing the connection" /> : null}
          {check !== undefined && check !== 'running' ? (
            <p className={`check check-${check.status}`} role="status">
              {check.status === 'succeeded' ? 'Connection test succeeded.' : `Connection test failed: ${check.message ?? 'no message'}`}
            </p>
          ) : null}
          <div className="button-row">
            <button type="button" onClick={() => void runCheck()} disabled={check === 'running' || saving}>
              Test
            </button>
            <button type="submit" className="primary" disabled={saving}>
              {saving ? 'Saving…' : actorId ? 'Save changes' : `Create ${kind}`}
            </button>
            {existing.data ? (
              <button type="button" className="danger" onClick={() => void remove(existing.data!.actor)}>
                Delete
              </button>
            ) : null}
          </div>
        </SpecForm>
      ) : null}
      {existing.data ? (
        <section>
          <h2>Connections using it</h2>
          {existing.data.connections.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul>
              {existing.data.connections.map((c) => (
                <li key={c.connectionId}>
                  <Link to={`/connections/${c.connectionId}`}>{c.name}</Link>
                </li>
              ))}
            </ul>
          )}
        </section>
      ) : null}
    </main>
  )
}
