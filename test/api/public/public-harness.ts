import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { pino } from 'pino'
import { startSluice, type RunningSluice } from '../../../src/server.js'
import { AIRBYTE_PUBLIC_SCHEMAS, type AirbyteSchemaName } from './airbyte-public-schemas.js'

// The test connectors are listed only with this flag; the registry reads it when built.
process.env.SLUICE_TEST_CONNECTORS = '1'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }))
ajv.addSchema(AIRBYTE_PUBLIC_SCHEMAS)

export const TEST_SOURCE_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a01'
export const TEST_DESTINATION_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a02'
export const FAKER_ID = 'dfd88b22-b603-4c3d-aad7-3701784586b1'
export const LOCAL_FILES_ID = '862a88fc-f263-4a45-aed8-2a53987631c1'
export const TOKEN = 'tok-public-api'

/** An HTTP answer as a client sees it. */
export interface Answer {
  status: number
  contentType: string
  body: any
  text: string
}

/** A request as a client library sends it. */
export interface Request {
  method?: string
  headers?: Record<string, string>
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown
  /** Sent form-encoded, as Python requests' `data=` does. */
  form?: Record<string, string>
  /** Query parameters; arrays are repeated (`k=a&k=b`, the SDKs' form/explode style). */
  query?: Record<string, string | number | boolean | string[] | undefined>
}

/** Sends a request to an absolute URL with fetch. */
export async function send(url: string, req: Request = {}): Promise<Answer> {
  const u = new URL(url)
  for (const [k, v] of Object.entries(req.query ?? {})) {
    if (v === undefined) continue
    for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item))
  }
  const headers: Record<string, string> = { ...req.headers }
  let body: string | undefined
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(req.json)
  } else if (req.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(req.form).toString()
  }
  const res = await fetch(u, { method: req.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body === undefined ? {} : { body }) })
  const text = await res.text()
  const contentType = res.headers.get('content-type') ?? ''
  return { status: res.status, contentType, text, body: text !== '' && /json/.test(contentType) ? JSON.parse(text) : undefined }
}

/** Asserts a 200 JSON answer valid against Airbyte's schema; returns its body. */
export function ok(answer: Answer, schema: AirbyteSchemaName): any {
  assert.equal(answer.status, 200, answer.text)
  assert.match(answer.contentType, /^application\/json/)
  const validate = ajv.getSchema(`airbyte-public#/definitions/${schema}`)
  assert.ok(validate, schema)
  assert.ok(validate(answer.body), `${schema}: ${JSON.stringify(validate.errors)} in ${answer.text}`)
  return answer.body
}

/** Asserts an error answered as Airbyte's problem document with this status; returns it. */
export function problem(answer: Answer, status: number): { type: string; title: string; status: number; detail: string; data?: any } {
  assert.equal(answer.status, status, answer.text)
  assert.match(answer.contentType, /^application\/problem\+json/)
  const validate = ajv.getSchema('airbyte-public#/definitions/Problem')
  assert.ok(validate?.(answer.body), `Problem: ${JSON.stringify(validate?.errors)} in ${answer.text}`)
  assert.equal(answer.body.status, status)
  assert.doesNotMatch(answer.text, /\bat .+\.(js|ts):\d+/, 'no stack trace')
  return answer.body
}

/** A real sluice (port 0, temp data dir, worker running, token auth) for client replays. */
export interface PublicServer {
  running: RunningSluice
  /** http://127.0.0.1:<port> */
  base: string
  workspaceId: string
  dataDir: string
  close(): Promise<void>
}

export async function startPublicServer(): Promise<PublicServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-public-'))
  const running = await startSluice({
    port: 0,
    dataDir,
    env: {
      ...process.env,
      SLUICE_DATABASE_URL: '',
      SLUICE_API_TOKEN: TOKEN,
      SLUICE_SECRET_KEY: randomBytes(32).toString('hex'),
      SLUICE_WORKER_POLL_MS: '50',
      SLUICE_WORKER_HEARTBEAT_MS: '100',
      SLUICE_WORKER_LEASE_MS: '5000',
      SLUICE_RETRY_BACKOFF_MS: '0',
      SLUICE_SCHEDULER_TICK_MS: '3600000',
    },
    logger: pino({ level: 'silent' }),
  })
  const auth = { authorization: `Bearer ${TOKEN}` }
  const workspaces = await send(`${running.url}/api/v1/workspaces/list`, { json: {}, headers: auth })
  return {
    running,
    base: running.url,
    dataDir,
    workspaceId: workspaces.body.workspaces[0].workspaceId as string,
    close: async () => {
      await running.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Polls like the clients do (a fixed pause between reads) until `done` says so; bounded by a
 * number of polls, not by the clock.
 */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, polls = 400): Promise<T> {
  let last = await read()
  for (let i = 0; i < polls && !done(last); i++) {
    await sleep(50)
    last = await read()
  }
  assert.ok(done(last), `still not done after ${polls} polls: ${JSON.stringify(last)}`)
  return last
}

/** Creates a test source and destination and a manual connection between them through the Config API; returns their ids. */
export async function configApiConnection(
  server: PublicServer,
  opts: { source?: Record<string, unknown>; name?: string } = {},
): Promise<{ sourceId: string; destinationId: string; connectionId: string }> {
  const headers = { authorization: `Bearer ${TOKEN}` }
  const api = (path: string, json: unknown) => send(`${server.base}/api/v1/${path}`, { json, headers })
  const tag = randomBytes(4).toString('hex')
  const source = await api('sources/create', {
    workspaceId: server.workspaceId,
    sourceDefinitionId: TEST_SOURCE_ID,
    name: `test source ${tag}`,
    connectionConfiguration: { streams: ['items'], records: 30, batchSize: 10, runKey: `s-${tag}`, ...opts.source },
  })
  assert.equal(source.status, 200, source.text)
  const destination = await api('destinations/create', {
    workspaceId: server.workspaceId,
    destinationDefinitionId: TEST_DESTINATION_ID,
    name: `test destination ${tag}`,
    connectionConfiguration: { path: join(server.dataDir, 'out', tag), runKey: `d-${tag}` },
  })
  assert.equal(destination.status, 200, destination.text)
  const conn = await api('connections/create', {
    sourceId: source.body.sourceId,
    destinationId: destination.body.destinationId,
    name: opts.name ?? `conn ${tag}`,
    status: 'active',
    scheduleType: 'manual',
    syncCatalog: { streams: [{ stream: { name: 'items' }, config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']], selected: true } }] },
  })
  assert.equal(conn.status, 200, conn.text)
  return { sourceId: source.body.sourceId, destinationId: destination.body.destinationId, connectionId: conn.body.connectionId }
}
