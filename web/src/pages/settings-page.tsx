import { useState } from 'react'
import { errorMessage, post } from '../api.js'
import { useSession } from '../session.js'
import { useLoad } from '../use-load.js'
import { ErrorBox, Spinner } from '../widgets.js'

interface Workspace {
  workspaceId: string
  name: string
  notificationSettings?: Record<string, { notificationType?: string[]; slackConfiguration?: { webhook?: string } }>
  webhookConfigs?: Array<{ id: string; name: string }>
}

const EVENTS = [
  { key: 'sendOnFailure', trigger: 'sync_failure', label: 'A sync failed' },
  { key: 'sendOnSuccess', trigger: 'sync_success', label: 'A sync succeeded' },
  { key: 'sendOnConnectionUpdate', trigger: 'connection_update', label: 'A connection was updated (schema change)' },
  { key: 'sendOnSyncDisabled', trigger: 'sync_disabled', label: 'A connection was disabled after failures' },
]

/** Notification webhooks of the workspace (Airbyte's notificationSettings shape). */
function Notifications({ ws, onSaved }: { ws: Workspace; onSaved(): void }) {
  const initial = Object.fromEntries(EVENTS.map((e) => [e.key, ws.notificationSettings?.[e.key]?.slackConfiguration?.webhook ?? '']))
  const [urls, setUrls] = useState<Record<string, string>>(initial)
  const [error, setError] = useState<string | undefined>(undefined)
  const [saved, setSaved] = useState(false)
  const [tried, setTried] = useState<Record<string, string>>({})
  const tryOne = async (key: string, trigger: string): Promise<void> => {
    setTried({ ...tried, [key]: 'Sending…' })
    try {
      const r = await post<{ status: string; message?: string }>('notifications/try_webhook', { notificationTrigger: trigger, slackConfiguration: { webhook: (urls[key] ?? '').trim() } })
      setTried((t) => ({ ...t, [key]: r.status === 'succeeded' ? `Test message sent. ${r.message ?? ''}` : `Test failed: ${r.message ?? ''}` }))
    } catch (e) {
      setTried((t) => ({ ...t, [key]: `Test failed: ${errorMessage(e)}` }))
    }
  }
  const save = async (): Promise<void> => {
    setError(undefined)
    setSaved(false)
    try {
      const notificationSettings = Object.fromEntries(
        EVENTS.map((e) => {
          const url = (urls[e.key] ?? '').trim()
          return [e.key, url === '' ? { notificationType: [] } : { notificationType: ['slack'], slackConfiguration: { webhook: url } }]
        }),
      )
      await post('workspaces/update', { workspaceId: ws.workspaceId, notificationSettings })
      setSaved(true)
      onSaved()
    } catch (e) {
      setError(errorMessage(e))
    }
  }
  return (
    <section className="card" aria-labelledby="notif-title">
      <h2 id="notif-title">Notifications</h2>
      <p className="muted">A Slack-compatible webhook URL per event (sluice posts a message when it happens); leave empty for none.</p>
      {EVENTS.map((e) => (
        <div className="field" key={e.key}>
          <label htmlFor={`notif-${e.key}`}>{e.label}</label>
          <div className="field-row">
            <input id={`notif-${e.key}`} type="url" placeholder="https://hooks.slack.com/services/…" value={urls[e.key] ?? ''} onChange={(ev) => setUrls({ ...urls, [e.key]: ev.target.value })} />
            <button type="button" disabled={(urls[e.key] ?? '').trim() === ''} onClick={() => void tryOne(e.key, e.trigger)} aria-label={`Send a test message: ${e.label}`}>
              Test
            </button>
          </div>
          {tried[e.key] ? <span role="status">{tried[e.key]}</span> : null}
        </div>
      ))}
      {error ? <ErrorBox message={error} /> : null}
      {saved ? <p className="notice" role="status">Notifications saved.</p> : null}
      <button type="button" className="primary" onClick={() => void save()}>
        Save notifications
      </button>
    </section>
  )
}

/** Named tokens that webhook operations send (dbt Cloud and others); tokens are write-only. */
function WebhookConfigs({ ws, onSaved }: { ws: Workspace; onSaved(): void }) {
  const [name, setName] = useState('')
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const existing = ws.webhookConfigs ?? []
  const write = async (configs: Array<{ name: string; authToken?: string }>): Promise<void> => {
    setError(undefined)
    try {
      await post('workspaces/update', { workspaceId: ws.workspaceId, webhookConfigs: configs })
      setName('')
      setToken('')
      onSaved()
    } catch (e) {
      setError(errorMessage(e))
    }
  }
  return (
    <section className="card" aria-labelledby="hooks-title">
      <h2 id="hooks-title">Webhook credentials</h2>
      <p className="muted">Used by webhook operations after a sync. Tokens are stored encrypted and never shown again.</p>
      {existing.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ul>
          {existing.map((c) => (
            <li key={c.id}>
              {c.name}{' '}
              <button type="button" className="link" onClick={() => void write(existing.filter((x) => x.id !== c.id).map((x) => ({ name: x.name })))}>
                Remove {c.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="field-row">
        <div className="field">
          <label htmlFor="hook-name">Name</label>
          <input id="hook-name" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="hook-token">Token</label>
          <input id="hook-token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
        </div>
      </div>
      {error ? <ErrorBox message={error} /> : null}
      <button type="button" disabled={name.trim() === ''} onClick={() => void write([...existing.map((x) => ({ name: x.name })), { name: name.trim(), ...(token ? { authToken: token } : {}) }])}>
        Add credential
      </button>
    </section>
  )
}

/** Workspace settings: notifications, webhook credentials, the API token session. */
export function SettingsPage() {
  const session = useSession()
  const ws = useLoad((signal) => post<Workspace>('workspaces/get', { workspaceId: session.workspaceId }, signal), [session.workspaceId])
  return (
    <main className="page">
      <h1>Settings</h1>
      <section className="card" aria-labelledby="token-title">
        <h2 id="token-title">API token</h2>
        {session.tokenRequired ? (
          <>
            <p>This server requires its API token (<code>SLUICE_API_TOKEN</code>); you are logged in for this browser tab.</p>
            <button type="button" onClick={session.logout}>
              Log out
            </button>
          </>
        ) : (
          <p>
            This server has no API token: anyone who can reach it can use it. Set <code>SLUICE_API_TOKEN</code> before exposing it beyond this machine.
          </p>
        )}
      </section>
      {ws.error ? <ErrorBox message={ws.error} onRetry={ws.reload} /> : null}
      {!ws.data ? (
        ws.error ? null : <Spinner />
      ) : (
        <div className="two-columns">
          <Notifications ws={ws.data} onSaved={ws.reload} />
          <WebhookConfigs ws={ws.data} onSaved={ws.reload} />
        </div>
      )}
    </main>
  )
}
