import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { RecordBatch } from '../../../src/protocol/index.js'
import { readAirbyteMessages, type ReaderItem } from '../../../src/connectors/external/airbyte-message-reader.js'
import { GLOBAL_STATE_KEY, statesFromWire, statesToWire } from '../../../src/connectors/external/airbyte-wire.js'
import { recordLines } from '../../../src/connectors/external/airbyte-message-writer.js'
import { isSluiceError } from '../../../src/errors.js'

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p)
}

async function readAll(input: AsyncIterable<Buffer>, opts: { maxBatchRows?: number; maxLineBytes?: number } = {}): Promise<ReaderItem[]> {
  const out: ReaderItem[] = []
  for await (const item of readAirbyteMessages(input, { label: 'test source', ...opts })) out.push(item)
  return out
}

const rec = (stream: string, id: number, ns?: string): string =>
  `{"type":"RECORD","record":{"stream":"${stream}"${ns ? `,"namespace":"${ns}"` : ''},"data":{"id":${id}},"emitted_at":1}}\n`

describe('Airbyte message reader', () => {
  it('groups records per stream across chunk boundaries, and hands a batch on before any other message', async () => {
    const text = rec('a', 1) + rec('a', 2) + rec('b', 1, 'ns') + '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"b","namespace":"ns"},"stream_state":{"id":1}}}}\n' + rec('b', 2, 'ns')
    // Cut in odd places: inside the first line and inside the state line.
    const items = await readAll(chunks(text.slice(0, 7), text.slice(7, 100), text.slice(100)))
    assert.deepEqual(
      items.map((i) => (i.type === 'RECORD_BATCH' ? `${i.stream.namespace ?? ''}.${i.stream.name}:${i.count}` : i.type)),
      ['.a:2', 'ns.b:1', 'MESSAGE', 'ns.b:1'],
    )
    const a = items[0] as RecordBatch
    assert.deepEqual(a.rows(), [{ id: 1 }, { id: 2 }])
    assert.equal(a.airbyteRecordLines?.toString(), rec('a', 1) + rec('a', 2))
    assert.equal(recordLines(a), a.airbyteRecordLines)
  })

  it('parses whole the lines the byte scan cannot trust, and keeps them valid JSON lines', async () => {
    const spaced = '{"type": "RECORD", "record": {"stream": "s", "data": {"id": 1}, "emitted_at": 1}}\n'
    const typeLast = '{"record":{"stream":"s","data":{"id":2}},"type":"RECORD"}\n'
    const nsAfterData = '{"type":"RECORD","record":{"stream":"s","data":{"namespace":"x","id":3},"namespace":"n"}}\n'
    const escaped = '{"type":"RECORD","record":{"stream":"s\\"q","data":{"id":4}}}\n'
    const items = await readAll(chunks(spaced + typeLast + nsAfterData + escaped + 'no newline at the end'))
    const batches = items.filter((i): i is RecordBatch => i.type === 'RECORD_BATCH')
    assert.deepEqual(batches.map((b) => [b.stream, b.rows()]), [
      [{ name: 's' }, [{ id: 1 }, { id: 2 }]],
      [{ name: 's', namespace: 'n' }, [{ namespace: 'x', id: 3 }]],
      [{ name: 's"q' }, [{ id: 4 }]],
    ])
    assert.deepEqual(items.at(-1), { type: 'TEXT', text: 'no newline at the end' })
  })

  it('does not reuse the previous line\'s route when a namespace follows the data', async () => {
    const items = await readAll(chunks(rec('a', 1) + '{"type":"RECORD","record":{"stream":"a","data":{"id":2},"namespace":"n"}}\n' + rec('a', 3)))
    assert.deepEqual(
      items.map((i) => [(i as RecordBatch).stream, (i as RecordBatch).rows()]),
      [
        [{ name: 'a' }, [{ id: 1 }]],
        [{ name: 'a', namespace: 'n' }, [{ id: 2 }]],
        [{ name: 'a' }, [{ id: 3 }]],
      ],
    )
  })

  it('routes each line of streams that alternate within one chunk, non-ASCII names and CRLF endings included', async () => {
    const crlf = rec('a', 4).replace('\n', '\r\n')
    const items = await readAll(chunks(rec('a', 1) + rec('a', 2) + rec('été', 1) + rec('a', 3) + crlf + rec('été', 2)))
    assert.deepEqual(
      items.map((i) => [(i as RecordBatch).stream.name, (i as RecordBatch).rows()]),
      [
        ['a', [{ id: 1 }, { id: 2 }]],
        ['été', [{ id: 1 }]],
        ['a', [{ id: 3 }, { id: 4 }]],
        ['été', [{ id: 2 }]],
      ],
    )
    assert.equal((items[2] as RecordBatch).airbyteRecordLines?.toString(), rec('a', 3) + crlf)
  })

  it('offers the parsed rows as columns: every key in first-seen order, undefined where a row lacks it', async () => {
    const line = (data: string): string => `{"type":"RECORD","record":{"stream":"s","data":${data},"emitted_at":1}}\n`
    const [batch] = (await readAll(chunks(line('{"id":1,"name":"a"}') + line('{"name":"b","tags":[1],"id":2}') + line('{"constructor":null}')))) as RecordBatch[]
    assert.deepEqual(batch!.columns?.(), {
      names: ['id', 'name', 'tags', 'constructor'],
      columns: [
        [1, 2, undefined],
        ['a', 'b', undefined],
        [undefined, [1], undefined],
        [undefined, undefined, null],
      ],
    })
    assert.equal(batch!.columns?.(), batch!.columns?.())
  })

  it('bounds batches and lines', async () => {
    const items = await readAll(chunks(Array.from({ length: 25 }, (_, i) => rec('a', i)).join('')), { maxBatchRows: 10 })
    assert.deepEqual(items.map((i) => (i as RecordBatch).count), [10, 10, 5])
    await assert.rejects(readAll(chunks('x'.repeat(1000)), { maxLineBytes: 100 }), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CONNECTOR_PROTOCOL' && /without a line break/.test(e.message))
    await assert.rejects(readAll(chunks('{"type":"RECORD","record":{"data":{}}}\n')), /without a stream name or a data object/)
  })

  it('splits GLOBAL states per stream and joins them back, the oldest shared state winning', () => {
    const streams = [{ name: 'a' }, { name: 'b' }]
    const first = statesFromWire({ type: 'GLOBAL', global: { shared_state: { lsn: 1 }, stream_states: [{ stream_descriptor: { name: 'a' }, stream_state: { c: 1 } }] } }, streams)
    const second = statesFromWire({ type: 'GLOBAL', global: { shared_state: { lsn: 2 }, stream_states: [{ stream_descriptor: { name: 'a' }, stream_state: { c: 2 } }, { stream_descriptor: { name: 'b' }, stream_state: { c: 9 } }] } }, streams)
    assert.equal(first.length, 2)
    assert.ok(first[1]?.data?.[GLOBAL_STATE_KEY])
    assert.equal('stream_state' in (first[1]?.data ?? {}), false)
    // The attempt died after saving the second state of `a` but before that of `b`.
    const saved = [second[0]!, first[1]!]
    assert.deepEqual(statesToWire(saved), [{ type: 'GLOBAL', global: { shared_state: { lsn: 1 }, stream_states: [{ stream_descriptor: { name: 'a' }, stream_state: { c: 2 } }] } }])
    assert.deepEqual(statesToWire(second), [{ type: 'GLOBAL', global: { shared_state: { lsn: 2 }, stream_states: [{ stream_descriptor: { name: 'a' }, stream_state: { c: 2 } }, { stream_descriptor: { name: 'b' }, stream_state: { c: 9 } }] } }])
  })
})
