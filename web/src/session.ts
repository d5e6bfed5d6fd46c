import { createContext, useContext } from 'react'

/** What every page needs: the workspace it works in. */
export interface Session {
  workspaceId: string
  workspaceName: string
  /** True when the server has SLUICE_API_TOKEN set (the user logged in). */
  tokenRequired: boolean
  logout(): void
}

export const SessionContext = createContext<Session | undefined>(undefined)

/** The session of the app (inside <App>). */
export function useSession(): Session {
  const s = useContext(SessionContext)
  if (!s) throw new Error('useSession outside <App>')
  return s
}
