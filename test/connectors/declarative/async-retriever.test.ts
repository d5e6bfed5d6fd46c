import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { test } from 'node:test'
import { DeclarativeSource, type DeclarativeSourceOptions } from '../../../src/connectors/declarative/declarative-source.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, type MockApi, mockServers, readAll } from './helpers/mock-api.js'

const mock = mockServers()

/** A fake clock that only moves when the source sleeps: no test waits for real. */
function fakeTime(): { waits: number[]; opts: DeclarativeSourceOptions } {
  let now = 1_000_000
  const waits: number[] = []
  return {
    waits,
    opts: {
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms)
        now += ms
      },
    },
  }
}

function manifest(origin: string, retriever: Record<string, unknown> = {}): Record<string, unknown> {
  const base = `${origin}/reports.example.com`
  return {
    spec: { connection_specification: { type: 'object', properties: { token: { type: 'string' } } } },
    streams: [
      {
        type: 'DeclarativeStream',
        name: 'report',
        primary_key: 'id',
        transformations: [{ type: 'AddFields', fields: [{ path: ['day'], value: "{{ stream_partition.get('day', 'all') }}" }] }],
        retriever: {
          type: 'AsyncRetriever',
          record_selector: {
            type: 'RecordSelector',
            extractor: { type: 'DpathExtractor', field_path: [] },
            record_filter: { type: 'RecordFilter', condition: "{{ record['status'] != 'deleted' }}" },
          },
          creation_requester: {
            type: 'HttpRequester',
            url_base: base,
            path: '/jobs',
            http_method: 'POST',
            request_body_json: { report: 'sales', day: "{{ stream_partition['day'] }}" },
            authenticator: { type: 'BearerAuthenticator', api_token: "{{ config['token'] }}" },
          },
          polling_requester: { type: 'HttpRequester', url_base: base, path: "/jobs/{{ creation_response['id'] }}" },
          status_extractor: { type: 'DpathExtractor', field_path: ['state'] },
          status_mapping: { type: 'AsyncJobStatusMap', running: ['QUEUED', 'RUNNING'], completed: ['DONE'], failed: ['ERROR'], timeout: ['EXPIRED'] },
          download_target_extractor: { type: 'DpathExtractor', field_path: ['files'] },
          download_requester: { type: 'HttpRequester', url_base: "{{ download_target }}", http_method: 'GET' },
          download_decoder: { type: 'GzipDecoder', decoder: { type: 'CsvDecoder', set_values_to_none: [''] } },
          delete_requester: { type: 'HttpRequester', url_base: base, path: "/jobs/{{ creation_response['id'] }}", http_method: 'DELETE' },
          abort_requester: { type: 'HttpRequester', url_base: base, path: "/jobs/{{ creation_response['id'] }}/cancel", http_method: 'POST' },
          partition_router: { type: 'ListPartitionRouter', cursor_field: 'day', values: ['2024-01-01'] },
          ...retriever,
        },
      },
    ],
  }
}

const CSV_1 = 'id,amount,status,note\n1,10.5,ok,"a, quoted ""note"""\n2,3,deleted,\n'
const CSV_2 = 'id,amount,status,note\n3,7,ok,\n'

/** A report API: each job answers `states` in turn to its polls (the last one repeats). */
function reportApi(states: string[]): Promise<MockApi> {
  let jobs = 0
  const polls = new Map<string, number>()
  return mock((r) => {
    if (r.method === 'POST' && r.path === '/jobs') return { body: { id: `job-${++jobs}` } }
    const m = /^\/jobs\/(job-\d+)$/.exec(r.path)
    if (m && r.method === 'GET') {
      const n = polls.get(m[1] as string) ?? 0
      polls.set(m[1] as string, n + 1)
      const state = states[Math.min(n, states.length - 1)] as string
      const origin = `http://${r.headers.host}`
      return { body: { state, files: state === 'DONE' ? [`${origin}/files.example.com/${m[1]}/part-1.csv.gz`, `${origin}/files.example.com/${m[1]}/part-2.csv.gz`] : [] } }
    }
    if (m && r.method === 'DELETE') return { status: 204, body: '' }
    if (/\/cancel$/.test(r.path)) return { body: {} }
    if (r.host === 'files.example.com') return { body: gzipSync(r.path.endsWith('part-1.csv.gz') ? CSV_1 : CSV_2), headers: { 'content-type': 'application/octet-stream' } }
    return { status: 404, body: { error: 'unknown path' } }
  })
}

test('AsyncRetriever: create, poll every 5 s until done, download gzip CSV files, delete the job', async () => {
  const api = await reportApi(['QUEUED', 'RUNNING', 'DONE'])
  const time = fakeTime()
  const src = new DeclarativeSource(manifest(api.origin), { ...time.opts, rewriteUrl: api.rewriteUrl })
  const out = await readAll(src, { token: 'secret' }, catalogFor(['report']))
  assert.deepEqual(out.records.report, [
    { id: '1', amount: '10.5', status: 'ok', note: 'a, quoted "note"', day: '2024-01-01' },
    { id: '3', amount: '7', status: 'ok', note: null, day: '2024-01-01' },
  ])
  assert.deepEqual(time.waits, [5000, 5000])
  assert.deepEqual(api.requests.map((r) => `${r.method} ${r.host}${r.path}`), [
    'POST reports.example.com/jobs',
    'GET reports.example.com/jobs/job-1',
    'GET reports.example.com/jobs/job-1',
    'GET reports.example.com/jobs/job-1',
    'GET files.example.com/job-1/part-1.csv.gz',
    'GET files.example.com/job-1/part-2.csv.gz',
    'DELETE reports.example.com/jobs/job-1',
  ])
  assert.deepEqual(JSON.parse(api.requests[0]?.body ?? ''), { report: 'sales', day: '2024-01-01' })
  assert.equal(api.requests[0]?.headers.authorization, 'Bearer secret')
})

test('AsyncRetriever: a job that keeps failing is retried with new jobs, then fails the read with the statuses', async () => {
  const api = await reportApi(['RUNNING', 'ERROR'])
  const time = fakeTime()
  const src = new DeclarativeSource(manifest(api.origin, { failed_retry_wait_time_in_seconds: 30 }), { ...time.opts, rewriteUrl: api.rewriteUrl })
  await assert.rejects(readAll(src, { token: 't' }, catalogFor(['report'])), (e: unknown) => {
    assert.ok(e instanceof SluiceError)
    assert.equal(e.failureType, 'system_error')
    assert.match(e.message, /Stream report: stream report: the async job did not complete after 3 attempts \(statuses: failed, failed, failed\)/)
    return true
  })
  assert.equal(api.requests.filter((r) => r.method === 'POST' && r.path === '/jobs').length, 3)
  assert.deepEqual(time.waits, [5000, 30000, 5000, 30000, 5000])
  assert.equal(api.requests.some((r) => r.host === 'files.example.com'), false)
})

test('AsyncRetriever: a job still running after polling_job_timeout is aborted and replaced; an unknown status fails at once', async () => {
  const api = await reportApi(['RUNNING'])
  const time = fakeTime()
  const src = new DeclarativeSource(manifest(api.origin, { polling_job_timeout: 1 }), { ...time.opts, rewriteUrl: api.rewriteUrl })
  await assert.rejects(readAll(src, { token: 't' }, catalogFor(['report'])), /did not complete after 3 attempts \(statuses: timeout, timeout, timeout\)/)
  // 1 minute at one poll every 5 s: 12 waits per job.
  assert.equal(time.waits.length, 36)
  assert.deepEqual(api.requests.filter((r) => r.path.endsWith('/cancel')).map((r) => r.path), ['/jobs/job-1/cancel', '/jobs/job-2/cancel', '/jobs/job-3/cancel'])

  const odd = await reportApi(['MYSTERY'])
  const src2 = new DeclarativeSource(manifest(odd.origin), { ...fakeTime().opts, rewriteUrl: odd.rewriteUrl })
  await assert.rejects(readAll(src2, { token: 't' }, catalogFor(['report'])), /API status "MYSTERY" is not in status_mapping/)
  assert.equal(odd.requests.filter((r) => r.method === 'POST').length, 1)
})

test('AsyncRetriever: url_requester targets, JSON Lines download pages, no target extractor = one download', async () => {
  const api = await mock((r) => {
    if (r.path === '/jobs' && r.method === 'POST') return { body: { id: 'j1' } }
    if (r.path === '/jobs/j1') return { body: { state: 'DONE', result: 'r-9' } }
    if (r.path === '/results/r-9/urls') return { body: { urls: [`http://${r.headers.host}/dl.example.com/r-9`] } }
    if (r.host === 'dl.example.com') {
      const page = Number(r.query.get('page') ?? 1)
      return { body: page === 1 ? '{"id": 1}\n{"id": 2}\n' : page === 2 ? '{"id": 3}\n' : '' }
    }
    if (r.path === '/export') return { body: [{ id: 'x' }] }
    return { status: 404, body: {} }
  })
  const base = `${api.origin}/reports.example.com`
  const jsonl = {
    partition_router: [],
    delete_requester: undefined,
    abort_requester: undefined,
    polling_requester: { type: 'HttpRequester', url_base: base, path: "/jobs/{{ creation_response['id'] }}" },
    url_requester: { type: 'HttpRequester', url_base: base, path: "/results/{{ polling_response['result'] }}/urls" },
    download_target_extractor: { type: 'DpathExtractor', field_path: ['urls'] },
    download_decoder: { type: 'JsonlDecoder' },
    download_paginator: { type: 'DefaultPaginator', pagination_strategy: { type: 'PageIncrement', start_from_page: 1, page_size: 2 }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } },
  }
  const src = new DeclarativeSource(manifest(api.origin, jsonl), { ...fakeTime().opts, rewriteUrl: api.rewriteUrl })
  const out = await readAll(src, { token: 't' }, catalogFor(['report']))
  assert.deepEqual(out.records.report?.map((r) => [r.id, r.day]), [[1, 'all'], [2, 'all'], [3, 'all']])
  assert.deepEqual(api.requests.filter((r) => r.host === 'dl.example.com').map((r) => r.query.get('page')), [null, '2'])

  api.requests.length = 0
  const single = new DeclarativeSource(manifest(api.origin, { ...jsonl, url_requester: undefined, download_target_extractor: undefined, download_paginator: undefined, download_decoder: undefined, download_requester: { type: 'HttpRequester', url_base: base, path: '/export' } }), { ...fakeTime().opts, rewriteUrl: api.rewriteUrl })
  const one = await readAll(single, { token: 't' }, catalogFor(['report']))
  assert.deepEqual(one.records.report, [{ id: 'x', day: 'all' }])
  assert.deepEqual(api.requests.map((r) => r.path), ['/jobs', '/jobs/j1', '/export'])
})

test('CsvDecoder and GzipDecoder also decode a SimpleRetriever response; a corrupt gzip body is a config error', async () => {
  const api = await mock((r) => (r.path === '/bad' ? { body: Buffer.from([0x1f, 0x8b, 1, 2, 3]) } : { body: gzipSync('id;name\n1;Ada\n2;"Grace; H."\n') }))
  const stream = (path: string): Record<string, unknown> => ({
    type: 'DeclarativeStream',
    name: path.slice(1),
    retriever: {
      type: 'SimpleRetriever',
      decoder: { type: 'GzipDecoder', decoder: { type: 'CsvDecoder', delimiter: ';' } },
      requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path },
      record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: [] } },
    },
  })
  const src = new DeclarativeSource({ streams: [stream('/people'), stream('/bad')] })
  const out = await readAll(src, {}, catalogFor(['people']))
  assert.deepEqual(out.records.people, [{ id: '1', name: 'Ada' }, { id: '2', name: 'Grace; H.' }])
  await assert.rejects(readAll(src, {}, catalogFor(['bad'])), (e: unknown) => e instanceof SluiceError && e.failureType === 'config_error' && /Stream bad: the response is not valid gzip/.test(e.message))
})
