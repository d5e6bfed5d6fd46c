import { configError } from '../errors.js'
import type { ConnectorLogger } from '../protocol/index.js'

/**
 * Airbyte's `jdbc_url_params` of the database connectors (`key=value&key2=value2`, each part
 * URL-encoded; a part without `=` is a key with an empty value) as a map. Keys not in
 * `understood` are kept but logged as ignored, since sluice's drivers are not JDBC. A part that
 * is not valid URL encoding is a config error naming the field.
 */
export function parseJdbcUrlParams(params: string | undefined, understood: readonly string[], logger?: ConnectorLogger): Map<string, string> {
  const out = new Map<string, string>()
  if (!params) return out
  for (const part of params.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    try {
      out.set(decodeURIComponent(eq < 0 ? part : part.slice(0, eq)), eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1)))
    } catch {
      throw configError(`jdbc_url_params: "${part}" is not valid URL encoding (write a literal % as %25).`)
    }
  }
  for (const key of out.keys()) {
    if (!understood.includes(key)) logger?.warn(`jdbc_url_params: "${key}" is not understood by sluice and is ignored.`)
  }
  return out
}
