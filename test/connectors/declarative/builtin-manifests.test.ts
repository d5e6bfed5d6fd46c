import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { ConnectorRegistry } from '../../../src/connectors/registry.js'
import { builtinDefinitions } from '../../../src/connectors/builtin-definitions.js'
import { builtinManifestDir } from '../../../src/connectors/declarative/declarative-definitions.js'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, readAll, runOptions, startMockApi, type MockApi, type MockHandler, type MockReply } from './helpers/mock-api.js'

// Each built-in manifest (connectors/manifests/*.yaml) end to end against a loopback server:
// pages, partitions, incremental state, errors and retries, OAuth token refresh.

const servers: MockApi[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function setup(file: string, handler: MockHandler, sleeps: number[] = []): Promise<{ api: MockApi; source: DeclarativeSource }> {
  const api = await startMockApi(handler)
  servers.push(api)
  const dir = builtinManifestDir()
  const source = new DeclarativeSource(readFileSync(join(dir, file), 'utf8'), {
    baseDir: dir,
    rewriteUrl: api.rewriteUrl,
    sleep: async (ms) => void sleeps.push(ms),
  })
  return { api, source }
}

test('every built-in manifest is in the registry with a fixed id, and none matches the seed\'s "rest api" lookup', () => {
  const registry = new ConnectorRegistry(builtinDefinitions())
  const names = registry.sources().map((d) => d.name)
  for (const n of ['GitHub Issues', 'Strava Activities', 'Open Library', 'Notion Search', 'NewsAPI Articles']) assert.ok(names.includes(n), n)
  assert.equal(registry.getSource('240ec6e2-d286-47bf-bcf2-c92c6aa0eb3c')?.name, 'GitHub Issues')
  assert.deepEqual(names.filter((n) => n.toLowerCase().includes('rest api')), ['REST API'])
})

describe('github.yaml', () => {
  const issue = (n: number, updated: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id: 1000 + n, number: n, title: `Issue ${n}`, updated_at: updated, user: { login: 'ada' }, reactions: { total_count: 1 }, ...extra })
  test('list partitions, Link pagination, PR filter, 404 ignored, rate limit waits for reset, substream comments, per-partition state', async () => {
    const sleeps: number[] = []
    let rateLimited = false
    const { api, source } = await setup(
      'github.yaml',
      (r): MockReply => {
        if (r.headers.authorization !== 'Bearer ghp_x') return { status: 401, body: { message: 'Bad credentials' } }
        if (r.path === '/repos/acme/widgets') return { body: { id: 1, full_name: 'acme/widgets', owner: { login: 'acme' }, permissions: { admin: true } } }
        if (r.path === '/repos/acme/gone' || r.path === '/repos/acme/gone/issues') return { status: 404, body: { message: 'Not Found' } }
        if (r.path === '/repos/acme/widgets/issues') {
          return {
            headers: { link: `<https://api.github.com/repositories/1/issues?page=2&per_page=100&since=${r.query.get('since')}>; rel="next"` },
            body: [issue(1, '2024-02-01T00:00:00Z'), issue(2, '2024-02-02T00:00:00Z', { pull_request: { url: 'x' } })],
          }
        }
        if (r.path === '/repositories/1/issues') {
          if (!rateLimited) {
            rateLimited = true
            return { status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 30) }, body: { message: 'API rate limit exceeded' } }
          }
          return { body: [issue(3, '2024-03-05T10:00:00Z')] }
        }
        const m = /^\/repos\/acme\/widgets\/issues\/(\d+)\/comments$/.exec(r.path)
        if (m) return { body: m[1] === '1' ? [{ id: 77, body: 'first!' }] : [] }
        return { status: 500, body: 'unexpected' }
      },
      sleeps,
    )
    const config = { credentials: { auth_type: 'token', token: 'ghp_x' }, repositories: ['acme/widgets', 'acme/gone'], start_date: '2024-01-01T00:00:00Z' }
    assert.equal((await source.check(config, runOptions())).status, 'succeeded')
    const { records, states } = await readAll(source, config, catalogFor(['repositories', 'issues', 'issue_comments'], 'incremental'))
    assert.deepEqual(records.repositories, [{ id: 1, full_name: 'acme/widgets', owner_login: 'acme' }])
    assert.deepEqual(records.issues?.map((i) => [i.number, i.repository, i.user_login, 'reactions' in i]), [[1, 'acme/widgets', 'ada', false], [3, 'acme/widgets', 'ada', false]])
    assert.deepEqual(records.issue_comments, [{ id: 77, body: 'first!', issue_number: 1, repository: 'acme/widgets' }])
    // WaitUntilTimeFromHeader: about 30 s until x-ratelimit-reset.
    assert.equal(sleeps.length, 1)
    assert.ok((sleeps[0] ?? 0) > 25_000 && (sleeps[0] ?? 0) <= 30_000, String(sleeps[0]))
    const first = api.requests.find((r) => r.path === '/repos/acme/widgets/issues')
    assert.equal(first?.query.get('since'), '2024-01-01T00:00:00Z')
    assert.equal(first?.query.get('per_page'), '100')
    assert.equal(first?.query.get('state'), 'all')
    const state = states.filter((s) => s.stream.name === 'issues').at(-1)?.data as { states: Array<{ partition: { repository: string }; cursor: { updated_at: string } }> }
    assert.deepEqual(state.states.map((s) => [s.partition.repository, s.cursor.updated_at]), [['acme/widgets', '2024-03-05T10:00:00Z'], ['acme/gone', '2024-01-01T00:00:00Z']])

    // The next sync resumes per repository, one day (lookback) before the state.
    const before = api.requests.length
    await readAll(source, config, catalogFor(['issues'], 'incremental'), [{ type: 'STATE', stream: { name: 'issues' }, data: state }])
    const resumed = api.requests.slice(before).find((r) => r.path === '/repos/acme/widgets/issues')
    assert.equal(resumed?.query.get('since'), '2024-03-04T10:00:00Z')
  })

  test('basic auth through the SelectiveAuthenticator; bad credentials fail check as a config problem', async () => {
    const { source } = await setup('github.yaml', (r) =>
      r.headers.authorization === `Basic ${Buffer.from('ada:tok').toString('base64')}` ? { body: { id: 2, full_name: 'a/b', owner: { login: 'a' } } } : { status: 401, body: { message: 'Bad credentials' } },
    )
    const good = await source.check({ credentials: { auth_type: 'basic', username: 'ada', token: 'tok' }, repositories: ['a/b'], start_date: '2024-01-01T00:00:00Z' }, runOptions())
    assert.equal(good.status, 'succeeded', good.message)
    const bad = await source.check({ credentials: { auth_type: 'basic', username: 'ada', token: 'nope' }, repositories: ['a/b'], start_date: '2024-01-01T00:00:00Z' }, runOptions())
    assert.equal(bad.status, 'failed')
    assert.match(bad.message, /401/)
  })
})

describe('strava.yaml', () => {
  test('OAuth refresh (rotated refresh token, refreshed again on 401), PageIncrement, 30-day windows in epoch seconds', async () => {
    const tokenRequests: URLSearchParams[] = []
    let activityCalls = 0
    const { api, source } = await setup('strava.yaml', (r) => {
      if (r.path === '/oauth/token') {
        const form = new URLSearchParams(r.body)
        tokenRequests.push(form)
        const n = tokenRequests.length
        return { body: { access_token: `at-${n}`, expires_in: 21600, refresh_token: `rt-${n + 1}` } }
      }
      if (r.path === '/api/v3/athlete') return r.headers.authorization?.toString().startsWith('Bearer at-') ? { body: { id: 9, username: 'ada' } } : { status: 401, body: {} }
      if (r.path === '/api/v3/athlete/activities') {
        activityCalls++
        // The first access token is revoked mid-run: the authenticator must refresh and retry.
        if (activityCalls === 2 && r.headers.authorization === 'Bearer at-1') return { status: 401, body: { message: 'Authorization Error' } }
        const after = Number(r.query.get('after'))
        const page = Number(r.query.get('page'))
        if (after === Date.UTC(2024, 0, 1) / 1000 && page === 1) {
          return { body: Array.from({ length: 2 }, (_, i) => ({ id: i + 1, start_date: '2024-01-0' + (i + 2) + 'T07:00:00Z', athlete: { id: 9 }, map: {} })) }
        }
        if (after === Date.UTC(2024, 0, 1) / 1000 && page === 2) return { body: [{ id: 3, start_date: '2024-01-20T07:00:00Z', athlete: { id: 9 } }] }
        return { body: [] }
      }
      return { status: 404, body: {} }
    })
    const config = { client_id: 'cid', client_secret: 'secret', refresh_token: 'rt-1', start_date: '2024-01-01T00:00:00Z', end_date: '2024-02-15T00:00:00Z', page_size: 2 }
    const updates: Array<Record<string, unknown>> = []
    const opts = { ...runOptions(), onConfigUpdate: async (c: Record<string, unknown>) => void updates.push(c) }
    const { records, states } = await readAll(source, config, catalogFor(['athlete', 'activities'], 'incremental'), [], opts)
    // Each rotation hands the config with the new tokens to the caller, who persists it.
    assert.deepEqual(updates.map((u) => [u.refresh_token, u.access_token, u.client_secret]), [['rt-2', 'at-1', 'secret'], ['rt-3', 'at-2', 'secret']])
    assert.equal(typeof updates[0]?.token_expiry_date, 'string')
    assert.equal(config.refresh_token, 'rt-1', 'the caller\'s object is not mutated')
    assert.deepEqual(records.athlete, [{ id: 9, username: 'ada' }])
    assert.deepEqual(records.activities?.map((a) => [a.id, a.athlete_id, 'map' in a]), [[1, 9, false], [2, 9, false], [3, 9, false]])
    assert.equal(tokenRequests.length, 2)
    assert.equal(tokenRequests[0]?.get('grant_type'), 'refresh_token')
    assert.equal(tokenRequests[0]?.get('refresh_token'), 'rt-1')
    assert.equal(tokenRequests[0]?.get('client_secret'), 'secret')
    assert.equal(tokenRequests[1]?.get('refresh_token'), 'rt-2', 'the rotated refresh token is used')
    const windows = api.requests.filter((r) => r.path === '/api/v3/athlete/activities' && r.query.get('page') === '1').map((r) => [r.query.get('after'), r.query.get('before')])
    assert.deepEqual(windows, [
      [String(Date.UTC(2024, 0, 1) / 1000), String(Date.UTC(2024, 0, 31) / 1000 - 1)],
      [String(Date.UTC(2024, 0, 31) / 1000), String(Date.UTC(2024, 1, 15) / 1000)],
    ])
    assert.deepEqual(states.filter((s) => s.stream.name === 'activities').at(-1)?.data, { start_date: String(Date.UTC(2024, 0, 20, 7) / 1000) })
  })

  test('a rejected refresh token fails check with a config error that names no secret', async () => {
    const { source } = await setup('strava.yaml', (r) => (r.path === '/oauth/token' ? { status: 400, body: { message: 'Bad Request', errors: [{ field: 'refresh_token', code: 'invalid' }] } } : { body: {} }))
    const status = await source.check({ client_id: 'cid', client_secret: 'shh-secret', refresh_token: 'rt-bad', start_date: '2024-01-01T00:00:00Z' }, runOptions())
    assert.equal(status.status, 'failed')
    assert.match(status.message, /token refresh was rejected/)
    assert.doesNotMatch(status.message, /shh-secret|rt-bad/)
  })
})

describe('open-library.yaml', () => {
  test('$parameters-built streams, OffsetIncrement, RecordFilter, AddFields with macros, list partitions in the path', async () => {
    const doc = (i: number, year: number | null): Record<string, unknown> => ({ key: `/works/OL${i}W`, title: `T${i}`, author_name: ['A', 'B'], first_publish_year: year })
    const { api, source } = await setup('open-library.yaml', (r) => {
      if (r.path === '/search.json') {
        const offset = Number(r.query.get('offset'))
        if (offset === 0) return { body: { numFound: 101, docs: Array.from({ length: 100 }, (_, i) => doc(i, i === 5 ? 1800 : 1990)) } }
        return { body: { docs: [doc(100, null)] } }
      }
      if (r.path === '/subjects/love.json') return { body: { works: [{ key: '/works/OL1W', title: 'L' }] } }
      if (r.path === '/subjects/cats.json') return { body: { works: [] } }
      return { status: 404, body: {} }
    })
    const config = { query: 'tolkien', min_year: 1900, subjects: ['love', 'cats'], contact_email: 'ops@example.com' }
    const { records } = await readAll(source, config, catalogFor(['books', 'subject_works']))
    assert.equal(records.books?.length, 100, '100 + 1 read, 1 filtered out (1800)')
    const b = records.books?.[0] as Record<string, unknown>
    assert.equal(b.authors, 'A, B')
    assert.equal('author_name' in b, false)
    assert.equal(b.extracted_on, new Date().toISOString().slice(0, 10))
    assert.deepEqual(records.subject_works, [{ key: '/works/OL1W', title: 'L', subject: 'love' }])
    const searches = api.requests.filter((r) => r.path === '/search.json')
    assert.deepEqual(searches.map((r) => [r.query.get('offset'), r.query.get('limit'), r.query.get('q')]), [['0', '100', 'tolkien'], ['100', '100', 'tolkien']])
    assert.equal(searches[0]?.query.has('language'), false, 'an absent optional config value drops the parameter')
    assert.equal(searches[0]?.headers['user-agent'], 'sluice (ops@example.com)')
    const discovered = await source.discover(config, runOptions())
    assert.deepEqual(discovered.streams.map((s) => [s.name, s.sourceDefinedPrimaryKey]), [['books', [['key']]], ['subject_works', [['key']]]])
  })
})

describe('notion.yaml', () => {
  test('POST search with the cursor in body_json, client-side incremental filter, 429 with Retry-After', async () => {
    const sleeps: number[] = []
    let calls = 0
    const page = (id: string, edited: string): Record<string, unknown> => ({ object: 'page', id, last_edited_time: edited, parent: { database_id: 'db1' }, properties: { x: 1 } })
    const { api, source } = await setup(
      'notion.yaml',
      (r) => {
        if (r.headers.authorization !== 'Bearer secret_tok') return { status: 401, body: { message: 'API token is invalid.' } }
        const body = JSON.parse(r.body) as { start_cursor?: string; filter: { value: string } }
        if (body.filter.value === 'database') return { body: { results: [], has_more: false, next_cursor: null } }
        if (++calls === 1) return { status: 429, headers: { 'retry-after': '3' }, body: { message: 'rate limited' } }
        if (!body.start_cursor) return { body: { results: [page('p1', '2024-01-01T00:00:00.000Z'), page('p2', '2024-05-01T00:00:00.000Z')], has_more: true, next_cursor: 'c2' } }
        return { body: { results: [page('p3', '2024-06-01T12:00:00.000Z')], has_more: false, next_cursor: null } }
      },
      sleeps,
    )
    const config = { token: 'secret_tok', start_date: '2024-02-01T00:00:00.000Z' }
    const { records, states } = await readAll(source, config, catalogFor(['pages', 'databases'], 'incremental'))
    assert.deepEqual(records.pages?.map((p) => [p.id, p.parent_id, 'properties' in p]), [['p2', 'db1', false], ['p3', 'db1', false]])
    assert.deepEqual(sleeps, [3000])
    const posts = api.requests.filter((r) => r.method === 'POST')
    assert.equal(posts[0]?.headers['notion-version'], '2022-06-28')
    const bodies = posts.map((r) => JSON.parse(r.body) as Record<string, unknown>)
    assert.deepEqual(bodies[1], { filter: { property: 'object', value: 'page' }, sort: { direction: 'ascending', timestamp: 'last_edited_time' }, page_size: 100 })
    assert.equal(bodies[2]?.start_cursor, 'c2')
    assert.deepEqual(states.filter((s) => s.stream.name === 'pages').at(-1)?.data, { last_edited_time: '2024-06-01T12:00:00.000000Z' })
    const bad = await source.check({ token: 'wrong' }, runOptions())
    assert.equal(bad.status, 'failed')
    assert.match(bad.message, /Notion refused the token: API token is invalid/)
  })
})

describe('newsapi.yaml', () => {
  test('API key header, daily windows with lookback, short page stops, maximumResultsReached ignored, 401 is a config error', async () => {
    const art = (i: number, at: string): Record<string, unknown> => ({ url: `https://n.example/${i}`, title: `A${i}`, publishedAt: at, source: { id: null, name: 'Wire' } })
    const { api, source } = await setup('newsapi.yaml', (r) => {
      if (r.headers['x-api-key'] !== 'nk') return { status: 401, body: { status: 'error', code: 'apiKeyInvalid', message: 'Your API key is invalid.' } }
      const from = r.query.get('from')
      if (from === '2024-03-01T00:00:00Z') {
        if (r.query.get('page') === '1') return { body: { articles: Array.from({ length: 100 }, (_, i) => art(i, '2024-03-01T10:00:00Z')) } }
        return { status: 426, body: { status: 'error', code: 'maximumResultsReached', message: 'You have requested too many results.' } }
      }
      return { body: { articles: [art(500, '2024-03-02T08:30:00Z')] } }
    })
    const config = { api_key: 'nk', query: 'sluice', start_date: '2024-03-01', end_date: '2024-03-03' }
    const { records, states } = await readAll(source, config, catalogFor(['articles'], 'incremental'))
    assert.equal(records.articles?.length, 101)
    assert.deepEqual(records.articles?.[0], { url: 'https://n.example/0', title: 'A0', publishedAt: '2024-03-01T10:00:00Z', source_name: 'Wire' })
    const windows = api.requests.filter((r) => r.query.get('page') === '1').map((r) => [r.query.get('from'), r.query.get('to')])
    // The last window ends at end_datetime itself (no granularity subtracted).
    assert.deepEqual(windows, [['2024-03-01T00:00:00Z', '2024-03-01T23:59:59Z'], ['2024-03-02T00:00:00Z', '2024-03-03T00:00:00Z']])
    assert.equal(api.requests[0]?.query.get('pageSize'), '100')
    assert.deepEqual(states.at(-1)?.data, { publishedAt: '2024-03-02T08:30:00Z' })
    await assert.rejects(readAll(source, { ...config, api_key: 'bad' }, catalogFor(['articles'], 'incremental')), (e: unknown) => {
      assert.ok(e instanceof SluiceError)
      assert.equal(e.failureType, 'config_error')
      assert.match(e.message, /NewsAPI rejected the key: Your API key is invalid/)
      return true
    })
  })
})
