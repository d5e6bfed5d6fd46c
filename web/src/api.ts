/** One bad field of a 422 answer (Airbyte's InvalidInputProperty). */
export interface FieldError {
  propertyPath: string
  invalidValue?: string
  message: string
}

/**
 * A failed API call. `status` 0 means the server could not be reached (network error);
 * `fieldErrors` are the 422's validationErrors.
 */
export class ApiError extends Error {
  readonly status: number
  readonly fieldErrors: FieldError[]
  constructor(status: number, message: string, fieldErrors: FieldError[] = []) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.fieldErrors = fieldErrors
  }
}

const TOKEN_KEY = 'sluice.apiToken'
let token: string | null = sessionStorage.getItem(TOKEN_KEY)
const unauthorizedListeners = new Set<() => void>()

/** The API token of this browser tab (session storage: gone when the tab closes, never in a URL). */
export function apiToken(): string | null {
  return token
}

/** Keeps the token for this tab, or forgets it (null). */
export function setApiToken(value: string | null): void {
  token = value
  if (value === null) sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, value)
}

/** Called whenever the API answers 401: the app shows the login form. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

/** Headers of every API call (the bearer token when one is set). */
export function authHeaders(): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` }
}

/**
 * `POST /api/v1/<path>` with a JSON body, as any script would. Resolves with the parsed body
 * (undefined for 204); rejects with an ApiError carrying the server's message.
 */
export async function post<T = any>(path: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
  let res: Response
  try {
    res = await fetch(`/api/v1/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders() },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    })
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    throw new ApiError(0, 'Network error: the sluice server could not be reached. Check that it is running, then retry.')
  }
  const text = await res.text()
  let parsed: any
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (res.ok) return parsed as T
  if (res.status === 401) for (const listener of unauthorizedListeners) listener()
  const message = typeof parsed?.message === 'string' ? parsed.message : `The server answered ${res.status} ${res.statusText}.`
  throw new ApiError(res.status, message, Array.isArray(parsed?.validationErrors) ? parsed.validationErrors : [])
}

/**
 * True when the API accepts this token (or, with null, needs none); false on 401. Throws the
 * server's message otherwise (429 after too many failed tries).
 */
export async function checkToken(candidate: string | null): Promise<boolean> {
  const res = await fetch('/api/v1/workspaces/list', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(candidate === null ? {} : { authorization: `Bearer ${candidate}` }) },
    body: '{}',
  })
  if (res.ok) return true
  if (res.status === 401) return false
  const body = (await res.json().catch(() => undefined)) as { message?: string } | undefined
  throw new ApiError(res.status, body?.message ?? `The server answered ${res.status}.`)
}

/** The message to show for any error thrown by a call. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message
  return String(e)
}
