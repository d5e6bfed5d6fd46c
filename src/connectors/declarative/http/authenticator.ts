import type { RequestParts } from './request-parts.js'

/** Adds credentials to a request. */
export interface Authenticator {
  apply(parts: RequestParts, signal: AbortSignal): Promise<void>
  /** Called on a 401; returns true when new credentials were obtained and a retry makes sense. */
  onUnauthorized?(signal: AbortSignal): Promise<boolean>
}
