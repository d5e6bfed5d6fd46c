import { TextDecoder } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { configError } from '../../../errors.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import { decodeBodies, type Row } from './record-selector.js'

/** Python codec names manifests use, as WHATWG TextDecoder labels. */
function textDecoder(encoding: unknown): TextDecoder {
  const name = pyStr(encoding ?? 'utf-8').toLowerCase().replace(/_/g, '-')
  const label = name === 'latin-1' || name === 'latin1' || name === 'iso-8859-1' ? 'iso-8859-1' : name
  try {
    return new TextDecoder(label)
  } catch {
    throw configError(`CsvDecoder encoding ${JSON.stringify(pyStr(encoding))} is not supported`)
  }
}

/** RFC 4180 rows: quoted fields may hold the delimiter, doubled quotes and line breaks. */
function csvRows(text: string, delimiter: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i += 2
          continue
        }
        quoted = false
      } else field += c
      i++
      continue
    }
    if (c === '"' && field === '') quoted = true
    else if (text.startsWith(delimiter, i)) {
      row.push(field)
      field = ''
      i += delimiter.length
      continue
    } else if (c === '\n' || c === '\r') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      if (c === '\r' && text[i + 1] === '\n') i++
    } else field += c
    i++
  }
  if (field !== '' || row.length) {
    row.push(field)
    rows.push(row)
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''))
}

/**
 * CsvDecoder (as Python's csv.DictReader): the first row names the fields, every value is a
 * string, a short row leaves the missing fields null (values beyond the header are dropped, where
 * DictReader keeps them under a None key); values listed in `set_values_to_none` become null.
 */
function decodeCsv(bytes: Buffer, node: ManifestNode): Row[] {
  const text = textDecoder(node.encoding).decode(bytes).replace(/^\uFEFF/, '')
  const delimiter = pyStr(node.delimiter ?? ',').replace(/^\\t$/, '\t') || ','
  const none = new Set((Array.isArray(node.set_values_to_none) ? node.set_values_to_none : []).map((v) => pyStr(v)))
  const [header, ...rows] = csvRows(text, delimiter)
  if (!header) return []
  return rows.map((r) => {
    const rec: Row = {}
    header.forEach((name, i) => {
      const v = r[i]
      rec[name] = v === undefined || none.has(v) ? null : v
    })
    return rec
  })
}

const GZIP_MAGIC = [0x1f, 0x8b]

/**
 * Decodes a raw body with a decoder component: GzipDecoder (gunzips a body that starts with the
 * gzip magic bytes, whatever the headers say, then its inner `decoder`), CsvDecoder, and the text
 * decoders (JSON, JSON Lines, XML, Iterable). Returns the decoded bodies, as decodeBodies does.
 */
export function decodeRaw(bytes: Buffer, node: ManifestNode | undefined, strict: boolean): { bodies: unknown[]; array: boolean } {
  const type = String(node?.type ?? 'JsonDecoder')
  if (type === 'GzipDecoder') {
    const inner = (node?.decoder ?? { type: 'JsonDecoder' }) as ManifestNode
    const gz = bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]
    if (!gz) return decodeRaw(bytes, inner, strict)
    let plain: Buffer
    try {
      plain = gunzipSync(bytes)
    } catch (e) {
      throw configError(`the response is not valid gzip: ${(e as Error).message}`)
    }
    return decodeRaw(plain, inner, strict)
  }
  if (type === 'CsvDecoder') return { bodies: decodeCsv(bytes, node ?? {}), array: true }
  return decodeBodies(bytes.toString('utf8'), type, strict)
}
