import { gunzipSync } from 'node:zlib'
import { parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import type { RunOptions } from '../../src/connectors/connector.js'
import {
  type ConfiguredCatalog,
  type ConfiguredStream,
  type DestinationMessage,
  type JsonSchema,
  type RecordData,
  rowBatch,
  type StateMessage,
} from '../../src/protocol/index.js'

/** Test fixtures shared by the format, Local Files and S3 tests (not a test file itself). */

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} }

export function runOptions(root: string, signal = new AbortController().signal): RunOptions {
  return { signal, logger: silentLogger, context: { dataDir: root, localFilesRoot: root } }
}

export const MIXED_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: ['null', 'string'] },
    amount: { type: 'number' },
    price: { type: 'number', precision: 10, scale: 2 },
    active: { type: 'boolean' },
    born: { type: 'string', format: 'date' },
    created_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    at: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
    tags: { type: 'array', items: { type: 'string' } },
    extra: { type: 'object' },
  },
}

/** Deterministic rows of every JSON type; row 3 carries a value that cannot be an integer. */
export function mixedRows(start: number, n: number): RecordData[] {
  const rows: RecordData[] = []
  for (let i = start; i < start + n; i++) {
    rows.push({
      id: i === 3 ? 'not-a-number' : i,
      name: i % 5 === 0 ? null : `name, "quoted" ${i}\nline`,
      amount: i * 1.5,
      price: `${i}.${String(i % 100).padStart(2, '0')}`,
      active: i % 2 === 0,
      born: `2000-01-${String((i % 28) + 1).padStart(2, '0')}`,
      created_at: `2024-05-01T10:00:00.${String(i % 1000).padStart(3, '0')}123Z`,
      at: '12:34:56.789',
      tags: ['a', String(i)],
      extra: { k: i, nested: { ok: true } },
    })
  }
  return rows
}

export function configuredStream(
  name: string,
  schema: JsonSchema,
  opts: { namespace?: string; mode?: 'overwrite' | 'append'; generationId?: number; syncId?: number } = {},
): ConfiguredStream {
  const generationId = opts.generationId ?? 1
  return {
    stream: { name, namespace: opts.namespace ?? 'public', jsonSchema: schema, supportedSyncModes: ['full_refresh', 'incremental'] },
    syncMode: 'full_refresh',
    destinationSyncMode: opts.mode ?? 'overwrite',
    cursorField: [],
    primaryKey: [],
    syncId: opts.syncId ?? 7,
    generationId,
    minimumGenerationId: (opts.mode ?? 'overwrite') === 'overwrite' ? generationId : 0,
  }
}

/** Batches of `batchSize` rows, a STATE after each batch, then COMPLETE for every stream. */
export async function* messages(
  catalog: ConfiguredCatalog,
  rowsPerStream: number,
  batchSize: number,
  rows: (start: number, n: number) => RecordData[] = mixedRows,
): AsyncGenerator<DestinationMessage> {
  for (const s of catalog.streams) {
    const d = { name: s.stream.name, namespace: s.stream.namespace }
    for (let start = 0; start < rowsPerStream; start += batchSize) {
      yield rowBatch(d, rows(start, Math.min(batchSize, rowsPerStream - start)), { emittedAt: 1_714_557_600_123 })
      yield { type: 'STATE', stream: d, data: { cursor: start + batchSize } }
    }
    yield { type: 'STREAM_STATUS', stream: d, status: 'COMPLETE' }
  }
}

export async function collect(states: AsyncIterable<StateMessage>): Promise<StateMessage[]> {
  const out: StateMessage[] = []
  for await (const s of states) out.push(s)
  return out
}

/** Decodes a JSONL file (gzipped or not) into objects. */
export function readJsonl(bytes: Buffer, gzip: boolean): Record<string, unknown>[] {
  const text = (gzip ? gunzipSync(bytes) : bytes).toString('utf8')
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** A small RFC 4180 parser (quoted fields, doubled quotes, newlines inside quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length > 0) rows.push([...row, field])
  return rows
}

export function readCsv(bytes: Buffer, gzip: boolean): Record<string, string>[] {
  const [header, ...rows] = parseCsv((gzip ? gunzipSync(bytes) : bytes).toString('utf8'))
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])))
}

/** Reads a Parquet file with hyparquet (an independent reader) and every codec. */
export async function readParquet(bytes: Buffer): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  return (await parquetReadObjects({ file, compressors })) as Record<string, unknown>[]
}
