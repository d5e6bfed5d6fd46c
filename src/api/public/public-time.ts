/** Times of the Public API: ISO 8601 instants and durations (job records keep epoch ms). */

/** An ISO 8601 instant, to the second (`2026-12-03T14:05:32Z`). */
export function isoFromEpochMs(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z')
}

/**
 * A list filter bound in epoch ms covering whole seconds (the Config API's `jobs/list` rule): a
 * start from the second's first millisecond, an end to its last.
 */
export function rangeBound(ms: number, side: 'start' | 'end'): number {
  const second = Math.floor(ms / 1000) * 1000
  return side === 'start' ? second : second + 999
}

/** An ISO 8601 duration (`PT1H2M3S`) of a number of milliseconds. */
export function isoDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000))
  const days = Math.floor(rest / 86_400)
  rest -= days * 86_400
  const hours = Math.floor(rest / 3600)
  rest -= hours * 3600
  const minutes = Math.floor(rest / 60)
  const seconds = rest - minutes * 60
  const time = `${hours > 0 ? `${hours}H` : ''}${minutes > 0 ? `${minutes}M` : ''}${seconds > 0 || (hours === 0 && minutes === 0) ? `${seconds}S` : ''}`
  return `P${days > 0 ? `${days}D` : ''}T${time}`
}
