import { useState, type FormEvent } from 'react'
import { ApiError, checkToken, errorMessage } from '../api.js'
import { ErrorBox } from '../widgets.js'

/** Shown when the API answers 401: asks for SLUICE_API_TOKEN and checks it before keeping it. */
export function LoginPage({ onLogin }: { onLogin(token: string): void }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      if (await checkToken(token.trim())) onLogin(token.trim())
      else setError('This token is not the server\'s SLUICE_API_TOKEN.')
    } catch (err) {
      setError(err instanceof ApiError ? err.message : `Network error: ${errorMessage(err)}`)
    } finally {
      setBusy(false)
    }
  }
  return (
    <main className="page narrow login">
      <h1>sluice</h1>
      <form onSubmit={(e) => void submit(e)} className="card">
        <h2>Log in</h2>
        <p>This server needs its API token (<code>SLUICE_API_TOKEN</code>). It is kept in this tab only, until you close it.</p>
        <label htmlFor="api-token">API token</label>
        <input id="api-token" type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} required autoFocus />
        {error ? <ErrorBox message={error} /> : null}
        <button type="submit" className="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
      </form>
    </main>
  )
}
