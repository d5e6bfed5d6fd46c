import { randomUUID } from 'node:crypto'
import type { StreamDescriptor } from '../../protocol/index.js'

/** Airbyte's default object path format and file name pattern (semantics §5.2). */
export const DEFAULT_PATH_FORMAT = '${NAMESPACE}/${STREAM_NAME}/${YEAR}_${MONTH}_${DAY}_${EPOCH}_'
export const DEFAULT_FILE_NAME_PATTERN = '{part_number}{format_extension}'

const STREAM_VARIABLES = new Set(['NAMESPACE', 'STREAM_NAME'])

/** NFKD, marks dropped, anything outside S3's safe characters replaced by `_`. */
export function s3SafeName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^A-Za-z0-9/!_.*'()&$@=;:+,?-]/g, '_')
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** Joins path pieces and collapses repeated slashes; no leading slash (object keys). */
export function joinKey(...parts: string[]): string {
  return parts.join('/').replace(/\/{2,}/g, '/').replace(/^\//, '')
}

/** Values of the `${...}` variables of one stream for one sync (time fixed at sync start). */
export function pathVariables(stream: StreamDescriptor, syncStart: Date): Record<string, string> {
  return {
    NAMESPACE: s3SafeName(stream.namespace ?? ''),
    STREAM_NAME: s3SafeName(stream.name),
    YEAR: String(syncStart.getUTCFullYear()),
    MONTH: pad(syncStart.getUTCMonth() + 1),
    DAY: pad(syncStart.getUTCDate()),
    HOUR: pad(syncStart.getUTCHours()),
    MINUTE: pad(syncStart.getUTCMinutes()),
    SECOND: pad(syncStart.getUTCSeconds()),
    MILLISECOND: pad(syncStart.getUTCMilliseconds(), 4),
    EPOCH: String(syncStart.getTime()),
    UUID: randomUUID(),
  }
}

/** Expands `${VAR}` occurrences; unknown variables are left as they are. */
export function expandPathFormat(format: string, vars: Record<string, string>): string {
  return format.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => vars[name] ?? whole)
}

/**
 * The stream's constant prefix: the path format expanded up to its first variable that is not
 * the namespace or stream name, cut back to the last `/` (what overwrite lists and cleans).
 */
export function constantPrefix(format: string, vars: Record<string, string>): string {
  const re = /\$\{([A-Z_]+)\}/g
  let end = format.length
  for (let m = re.exec(format); m; m = re.exec(format)) {
    if (!STREAM_VARIABLES.has(m[1]!)) {
      end = m.index
      break
    }
  }
  const expanded = expandPathFormat(format.slice(0, end), vars)
  return expanded.slice(0, expanded.lastIndexOf('/') + 1)
}

export interface FileNameValues {
  partNumber: number
  syncId: number
  extension: string
  /** Wall-clock time at file creation. */
  now: Date
}

/** Expands `{date}`, `{date:yyyy_MM}`, `{timestamp}`, `{part_number}`, `{sync_id}`, `{format_extension}`. */
export function expandFileName(pattern: string, v: FileNameValues): string {
  const d = v.now
  return pattern.replace(/\{([a-z_]+)(?::([^}]*))?\}/g, (whole, name: string, fmt: string | undefined) => {
    switch (name) {
      case 'date':
        return (fmt ?? 'yyyy_MM_dd')
          .replace('yyyy', String(d.getUTCFullYear()))
          .replace('MM', pad(d.getUTCMonth() + 1))
          .replace('dd', pad(d.getUTCDate()))
      case 'timestamp':
        return String(d.getTime())
      case 'part_number':
        return String(v.partNumber)
      case 'sync_id':
        return String(v.syncId)
      case 'format_extension':
        return v.extension
      default:
        return whole
    }
  })
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Adds a `-N` collision suffix before the format extension (or at the end without one). */
export function withCollisionSuffix(name: string, extension: string, n: number): string {
  return name.endsWith(extension) ? `${name.slice(0, name.length - extension.length)}-${n}${extension}` : `${name}-${n}`
}

/**
 * A regex over object keys (relative to the bucket path) that a stream's path format and file
 * pattern can produce: stream variables fixed, time variables and file variables wildcards.
 * `part_number` is captured so the next free number can be found.
 */
export function keyPattern(pathFormat: string, filePattern: string, vars: Record<string, string>, extension: string): RegExp {
  const pathPart = pathFormat
    .split(/(\$\{[A-Z_]+\})/)
    .map((piece) => {
      const m = /^\$\{([A-Z_]+)\}$/.exec(piece)
      if (!m) return escapeRe(piece)
      return STREAM_VARIABLES.has(m[1]!) ? escapeRe(vars[m[1]!] ?? '') : '[^/]*'
    })
    .join('')
  const filePart = filePattern
    .split(/(\{[a-z_]+(?::[^}]*)?\})/)
    .map((piece) => {
      const m = /^\{([a-z_]+)(?::[^}]*)?\}$/.exec(piece)
      if (!m) return escapeRe(piece)
      if (m[1] === 'part_number') return '(\\d+)'
      if (m[1] === 'format_extension') return `(?:-\\d+)?${escapeRe(extension)}`
      return '[^/]*?'
    })
    .join('')
  const joined = (pathPart + filePart).replace(/\/{2,}/g, '/').replace(/^\//, '')
  const suffix = filePattern.includes('{format_extension}') ? '' : '(?:-\\d+)?'
  return new RegExp(`^${joined}${suffix}$`)
}
