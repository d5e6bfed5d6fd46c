import type { JsonSchema } from '../../protocol/index.js'

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object'

function typeOf(v: unknown): JsonType {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'boolean') return 'boolean'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  if (typeof v === 'object') return 'object'
  return 'string'
}

interface Shape {
  types: Set<JsonType>
  props?: Map<string, Shape>
  items?: Shape
  formats: Set<string>
  seen: number
}

function newShape(): Shape {
  return { types: new Set(), formats: new Set(), seen: 0 }
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/
const DATE = /^\d{4}-\d{2}-\d{2}$/

function observe(shape: Shape, v: unknown, depth: number): void {
  const t = typeOf(v)
  shape.types.add(t)
  shape.seen++
  if (t === 'string') shape.formats.add(DATE_TIME.test(v as string) ? 'date-time' : DATE.test(v as string) ? 'date' : 'none')
  // Deeply nested values are typed as "any object/array" to keep the schema small.
  if (depth > 4) return
  if (t === 'object') {
    shape.props ??= new Map()
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      let child = shape.props.get(k)
      if (!child) {
        child = newShape()
        shape.props.set(k, child)
      }
      observe(child, x, depth + 1)
    }
  } else if (t === 'array') {
    shape.items ??= newShape()
    for (const x of v as unknown[]) observe(shape.items, x, depth + 1)
  }
}

function toSchema(shape: Shape, objectsSeen: number): JsonSchema {
  const types = new Set(shape.types)
  if (types.has('integer') && types.has('number')) types.delete('integer')
  // A field missing from some records may be absent: make it nullable.
  if (shape.seen < objectsSeen) types.add('null')
  const list = [...types].sort((a, b) => (a === 'null' ? 1 : b === 'null' ? -1 : a.localeCompare(b)))
  const out: JsonSchema = { type: list.length === 1 ? list[0] : list.length ? list : ['null', 'string'] }
  if (types.has('string') && shape.formats.size === 1) {
    const f = [...shape.formats][0]
    if (f === 'date-time') out.format = 'date-time'
    else if (f === 'date') out.format = 'date'
  }
  if (shape.props) {
    const objects = shape.seen
    out.properties = Object.fromEntries([...shape.props].map(([k, s]) => [k, toSchema(s, objects)]))
  }
  if (shape.items) out.items = toSchema(shape.items, shape.items.seen)
  return out
}

/** Infers a JSON schema from sample records (types, nullability, date formats). */
export function inferSchema(records: Iterable<Record<string, unknown>>): JsonSchema {
  const root = newShape()
  let n = 0
  for (const r of records) {
    observe(root, r, 0)
    n++
  }
  const props = root.props ? Object.fromEntries([...root.props].map(([k, s]) => [k, toSchema(s, n)])) : {}
  return { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', additionalProperties: true, properties: props }
}
