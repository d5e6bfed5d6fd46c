/**
 * Reads an integer setting from the environment: unset or blank gives `fallback`; anything that
 * is not an integer >= `min` stops the process with a message naming the variable.
 */
export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got '${raw}'.`)
  return n
}
