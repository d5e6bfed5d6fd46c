/**
 * Job and attempt records keep epoch ms; Airbyte's Config API responses carry epoch seconds
 * (JobRead, AttemptRead, ConnectionStatusRead...). The conversion happens here, at the edge.
 */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000)
}
