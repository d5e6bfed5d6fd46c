import { useEffect, useState } from 'react'
import { ApiError, apiToken, checkToken, errorMessage, onUnauthorized, post, setApiToken } from './api.js'
import { ActorFormPage } from './pages/actor-form-page.js'
import { ActorsPage } from './pages/actors-page.js'
import { ConnectionPage } from './pages/connection-page.js'
import { ConnectionsPage } from './pages/connections-page.js'
import { ConnectorsPage } from './pages/connectors-page.js'
import { LoginPage } from './pages/login-page.js'
import { NewConnectionPage } from './pages/new-connection-page.js'
import { SettingsPage } from './pages/settings-page.js'
import { Link, matchPath, navigate, useLocation } from './router.js'
import { SessionContext, type Session } from './session.js'
import { ErrorBox, Spinner } from './widgets.js'

const NAV = [
  { to: '/connections', label: 'Connections' },
  { to: '/sources', label: 'Sources' },
  { to: '/destinations', label: 'Destinations' },
  { to: '/connectors', label: 'Connectors' },
  { to: '/settings', label: 'Settings' },
]

function Routes() {
  const { path } = useLocation()
  let m: Record<string, string> | undefined
  if (path === '/' || path === '/connections') return <ConnectionsPage />
  if (path === '/connections/new') return <NewConnectionPage />
  if ((m = matchPath('/connections/:id', path))) return <ConnectionPage connectionId={m.id ?? ''} tab="jobs" />
  if ((m = matchPath('/connections/:id/:tab', path))) return <ConnectionPage connectionId={m.id ?? ''} tab={m.tab ?? 'jobs'} />
  for (const kind of ['source', 'destination'] as const) {
    if (path === `/${kind}s`) return <ActorsPage kind={kind} />
    if (path === `/${kind}s/new`) return <ActorFormPage key={`${kind}-new`} kind={kind} />
    if ((m = matchPath(`/${kind}s/:id`, path))) return <ActorFormPage key={m.id} kind={kind} actorId={m.id ?? ''} />
  }
  if (path === '/connectors') return <ConnectorsPage />
  if (path === '/settings') return <SettingsPage />
  return (
    <main className="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/connections">Go to the connections</Link>.
      </p>
    </main>
  )
}

/** The whole app: login when the API asks for a token, then the workspace's pages. */
export function App() {
  const [needsLogin, setNeedsLogin] = useState(false)
  const [tokenRequired, setTokenRequired] = useState(apiToken() !== null)
  const [session, setSession] = useState<{ workspaceId: string; workspaceName: string } | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [attempt, setAttempt] = useState(0)
  const { path } = useLocation()

  useEffect(() => onUnauthorized(() => setNeedsLogin(true)), [])

  useEffect(() => {
    if (needsLogin) return
    let stop = false
    setError(undefined)
    post<{ workspaces: Array<{ workspaceId: string; name: string }> }>('workspaces/list')
      .then(async (r) => {
        if (stop) return
        const ws = r.workspaces[0] ?? (await post<{ workspaceId: string; name: string }>('workspaces/create', { name: 'Default Workspace' }))
        if (!stop) setSession({ workspaceId: ws.workspaceId, workspaceName: ws.name })
        if (apiToken() === null && !stop) setTokenRequired(!(await checkToken(null)))
      })
      .catch((e) => {
        if (stop || (e instanceof ApiError && e.status === 401)) return
        setError(errorMessage(e))
      })
    return () => {
      stop = true
    }
  }, [needsLogin, attempt])

  if (needsLogin) {
    return (
      <LoginPage
        onLogin={(token) => {
          setApiToken(token)
          setTokenRequired(true)
          setNeedsLogin(false)
        }}
      />
    )
  }
  if (error) {
    return (
      <main className="page narrow">
        <h1>sluice</h1>
        <ErrorBox message={error} onRetry={() => setAttempt((n) => n + 1)} />
      </main>
    )
  }
  if (!session) return <Spinner label="Connecting to sluice" />
  const value: Session = {
    ...session,
    tokenRequired,
    logout: () => {
      setApiToken(null)
      setNeedsLogin(true)
      navigate('/connections', true)
    },
  }
  return (
    <SessionContext.Provider value={value}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <div className="layout">
        <nav className="sidebar" aria-label="Main">
          <Link to="/connections" className="brand">
            sluice
          </Link>
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={path === n.to || path.startsWith(`${n.to}/`) || (n.to === '/connections' && path === '/') ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div id="main" className="content" tabIndex={-1}>
          <Routes />
        </div>
      </div>
    </SessionContext.Provider>
  )
}
