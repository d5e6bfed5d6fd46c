import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { airbyteManifest, catalogFor, readAll, runOptions, startMockApi, type MockApi, type MockHandler } from './helpers/mock-api.js'

// Real manifests from ../shared/airbyte-manifests, run unmodified against mock servers built
// from INDEX.md (request sequences, responses and expected records).

const servers: MockApi[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function setup(name: string, handler: MockHandler, opts: { sleeps?: number[] } = {}): Promise<{ api: MockApi; source: DeclarativeSource }> {
  const api = await startMockApi(handler)
  servers.push(api)
  const source = new DeclarativeSource(airbyteManifest(name), {
    rewriteUrl: api.rewriteUrl,
    sleep: async (ms) => {
      opts.sleeps?.push(ms)
    },
  })
  return { api, source }
}

const today = new Date().toISOString().slice(0, 10)

describe('source-pokeapi', () => {
  test('one GET, whole body is the record; 404 fails check', async () => {
    const { api, source } = await setup('source-pokeapi', (r) =>
      r.path === '/api/v2/pokemon/pikachu' ? { body: { id: 25, name: 'pikachu', base_experience: 112 } } : { status: 404, body: 'Not Found' },
    )
    const { records } = await readAll(source, { pokemon_name: 'pikachu' }, catalogFor(['pokemon']))
    assert.deepEqual(records.pokemon, [{ id: 25, name: 'pikachu', base_experience: 112 }])
    assert.equal(api.requests.length, 1)
    assert.equal((await source.check({ pokemon_name: 'pikachu' }, runOptions())).status, 'succeeded')
    const bad = await source.check({ pokemon_name: 'bulbasaur' }, runOptions())
    assert.equal(bad.status, 'failed')
    assert.match(bad.message, /404/)
  })
})

describe('source-scryfall', () => {
  test('CursorPagination with an absolute next_page URL (RequestPath), q=* not repeated', async () => {
    const { api, source } = await setup('source-scryfall', (r) => {
      if (r.path === '/cards/search' && r.query.get('page') === '2') return { body: { has_more: false, data: [{ id: 'c3' }] } }
      if (r.path === '/cards/search') {
        return { body: { has_more: true, next_page: 'https://api.scryfall.com/cards/search?format=json&include_extras=false&order=name&page=2&q=%2A&unique=cards', data: [{ id: 'c1' }, { id: 'c2' }] } }
      }
      if (r.path === '/sets') return { body: { has_more: false, data: [{ id: 's1', code: 'tsp' }] } }
      if (r.path === '/symbology') return { body: { has_more: false, data: [{ symbol: '{T}' }, { symbol: '{R}' }] } }
      return { status: 404, body: 'no' }
    })
    const { records } = await readAll(source, {}, catalogFor(['cards', 'sets', 'symbols']))
    assert.deepEqual(records.cards?.map((c) => c.id), ['c1', 'c2', 'c3'])
    assert.deepEqual(records.sets?.map((c) => c.code), ['tsp'])
    assert.equal(records.symbols?.length, 2)
    const cardReqs = api.requests.filter((r) => r.path === '/cards/search')
    assert.equal(cardReqs[0]?.query.get('q'), '*')
    assert.deepEqual(cardReqs[1]?.query.getAll('q'), ['*'])
    assert.equal(cardReqs[1]?.query.get('page'), '2')
  })
})

describe('source-xkcd', () => {
  test('relative RequestPath pages, 404 ignored ends the stream, 503 retried with exponential backoff', async () => {
    const sleeps: number[] = []
    let failedOnce = false
    const { api, source } = await setup(
      'source-xkcd',
      (r) => {
        if (r.path === '/2961/info.0.json' && !failedOnce) {
          failedOnce = true
          return { status: 503, body: 'busy' }
        }
        if (r.path === '/2960/info.0.json') return { body: { num: 2960, title: 'Sports Champions' } }
        if (r.path === '/2961/info.0.json') return { body: { num: 2961, title: 'Dwarf Planet Fan' } }
        return { status: 404, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>404 Not Found</h1></body></html>' }
      },
      { sleeps },
    )
    const { records } = await readAll(source, { comic_number: '2960' }, catalogFor(['xkcd']))
    assert.deepEqual(records.xkcd?.map((x) => x.num), [2960, 2961])
    assert.deepEqual(api.requests.map((r) => r.path), ['/2960/info.0.json', '/2961/info.0.json', '/2961/info.0.json', '/2962/info.0.json'])
    // ExponentialBackoffStrategy factor 5, attempt 1: 5 * 2^1 = 10 s.
    assert.deepEqual(sleeps, [10_000])
  })
})

describe('source-gutendex', () => {
  test('PageIncrement from 0 not injected first; page_size in body_data; empty optional params dropped', async () => {
    const book = (id: number): Record<string, unknown> => ({ id, title: `Book ${id}` })
    const { api, source } = await setup('source-gutendex', (r) => {
      if (r.path !== '/books') return { status: 404, body: 'x' }
      if (!r.query.has('page')) return { body: { count: 45, results: Array.from({ length: 32 }, (_, i) => book(i)) } }
      if (r.query.get('page') === '1') return { body: { count: 45, results: Array.from({ length: 13 }, (_, i) => book(100 + i)) } }
      return { body: { results: [] } }
    })
    const { records } = await readAll(source, { languages: 'en', topic: 'children' }, catalogFor(['books']))
    assert.equal(records.books?.length, 45)
    assert.equal(api.requests.length, 2)
    const [first, second] = api.requests
    assert.equal(first?.query.toString(), 'languages=en&topic=children')
    assert.equal(first?.body, 'page_size=32')
    assert.equal(first?.headers['content-type'], 'application/x-www-form-urlencoded')
    assert.equal(second?.query.get('page'), '1')
  })
})

describe('source-hugging-face-datasets', () => {
  test('substream partitions, RecordFilter, AddFields, OffsetIncrement injected first', async () => {
    const row = (i: number): Record<string, unknown> => ({ row_idx: i, row: { tokens: i }, truncated_cells: [] })
    const { api, source } = await setup('source-hugging-face-datasets', (r) => {
      if (r.path === '/splits') {
        return { body: { splits: [{ dataset: 'acme/chat-sample', config: 'default', split: 'train' }, { dataset: 'acme/chat-sample', config: 'default', split: 'test' }] } }
      }
      if (r.path === '/rows') {
        const offset = Number(r.query.get('offset'))
        const n = offset === 0 ? 100 : 2
        return { body: { rows: Array.from({ length: n }, (_, i) => row(offset + i)) } }
      }
      return { status: 404, body: 'x' }
    })
    const config = { dataset_name: 'acme/chat-sample', dataset_splits: ['train'] }
    const { records } = await readAll(source, config, catalogFor(['splits', 'rows']))
    assert.deepEqual(records.splits, [{ dataset: 'acme/chat-sample', config: 'default', split: 'train', key: 'acme/chat-sample::default::train' }])
    assert.equal(records.rows?.length, 102)
    assert.deepEqual(records.rows?.[0], { row_idx: 0, row: { tokens: 0 }, truncated_cells: [], config: 'acme/chat-sample::default::train' })
    const rowReqs = api.requests.filter((r) => r.path === '/rows')
    assert.deepEqual(rowReqs.map((r) => `${r.query.get('config')}/${r.query.get('split')}/${r.query.get('offset')}/${r.query.get('length')}`), ['default/train/0/100', 'default/train/100/100'])
    assert.equal(api.requests.filter((r) => r.path === '/splits')[0]?.query.get('dataset'), 'acme/chat-sample')
  })
})

describe('source-wikipedia-pageviews', () => {
  test('P1D windows in the path, User-Agent header, final state parsed with the second format', async () => {
    const { api, source } = await setup('source-wikipedia-pageviews', (r) => {
      if (r.path.endsWith('/daily/20240101/20240101')) return { body: { items: [{ timestamp: '2024010100', views: 15302 }] } }
      if (r.path.endsWith('/daily/20240102/20240103')) return { body: { items: [{ timestamp: '2024010200', views: 17811 }, { timestamp: '2024010300', views: 16950 }] } }
      if (r.path === '/api/rest_v1/metrics/pageviews/top/en.wikipedia.org/all-access/2024/01/01') return { body: { items: [{ year: '2024', articles: [] }] } }
      return { status: 404, body: { title: 'Not found.' } }
    })
    const config = { project: 'en.wikipedia.org', access: 'all-access', agent: 'user', article: 'Albert_Einstein', country: 'FR', start: '20240101', end: '20240103' }
    const { records, states } = await readAll(source, config, catalogFor(['per-article', 'top'], 'incremental'))
    assert.deepEqual(records['per-article']?.map((r) => r.views), [15302, 17811, 16950])
    assert.equal(records.top?.length, 1)
    assert.deepEqual(api.requests.slice(0, 2).map((r) => r.path), [
      '/api/rest_v1/metrics/pageviews/per-article/en.wikipedia.org/all-access/user/Albert_Einstein/daily/20240101/20240101',
      '/api/rest_v1/metrics/pageviews/per-article/en.wikipedia.org/all-access/user/Albert_Einstein/daily/20240102/20240103',
    ])
    assert.equal(api.requests[0]?.headers['user-agent'], 'AirbyteWikipediaPageviewsConnector/1.0')
    assert.deepEqual(states.at(-1)?.data, { timestamp: '20240103' })
    // check and full refresh also slice by date windows (the path needs stream_slice.start_time).
    assert.equal((await source.check(config, runOptions())).status, 'succeeded')
    const before = api.requests.length
    const full = await readAll(source, config, catalogFor(['per-article']), [{ type: 'STATE', stream: { name: 'per-article' }, data: { timestamp: '20240103' } }])
    assert.equal(full.records['per-article']?.length, 3, 'full refresh ignores the state')
    assert.equal(full.states.length, 0)
    assert.equal(api.requests.length - before, 2, 'two date windows')
  })
})

describe('source-exchange-rates', () => {
  const rates = { success: true, base: 'EUR', date: '2024-01-01', rates: { USD: 1.1 } }
  test('ApiKey header, single slice with start_time_option, state resumes; 401 fails check', async () => {
    const { api, source } = await setup('source-exchange-rates', (r) =>
      r.headers.apikey === 'test-key' ? { body: { ...rates, date: r.query.get('date') } } : { status: 401, body: { message: 'Invalid authentication credentials' } },
    )
    const config = { access_key: 'test-key', start_date: '2024-01-01', base: 'EUR', ignore_weekends: true }
    const first = await readAll(source, config, catalogFor(['exchange_rates'], 'incremental'))
    assert.equal(api.requests[0]?.path, '/exchangerates_data/latest')
    assert.equal(api.requests[0]?.query.get('date'), '2024-01-01')
    assert.deepEqual(first.states.at(-1)?.data, { date: '2024-01-01' })
    const second = await readAll(source, config, catalogFor(['exchange_rates'], 'incremental'), [{ type: 'STATE', stream: { name: 'exchange_rates' }, data: { date: '2024-01-05' } }])
    assert.equal(api.requests[1]?.query.get('date'), '2024-01-05')
    assert.deepEqual(second.states.at(-1)?.data, { date: '2024-01-05' })
    const bad = await source.check({ ...config, access_key: 'wrong' }, runOptions())
    assert.equal(bad.status, 'failed')
    assert.doesNotMatch(bad.message, /wrong/)
  })
})

describe('source-stockdata', () => {
  test('ListPartitionRouter x DatetimeBasedCursor: per-partition state, api_token query param, AddFields from the partition', async () => {
    const { api, source } = await setup('source-stockdata', (r) => {
      const symb = r.query.get('symbols')
      if (r.path === '/v1/news/all') {
        if (symb === 'AAPL') return { body: { data: [{ uuid: 'n1', published_at: '2024-03-01T14:30:00.000000Z' }, { uuid: 'n2', published_at: '2024-02-27T09:05:12.000000Z' }] } }
        return { body: { data: [] } }
      }
      if (r.path === '/v1/data/eod') return { body: { data: symb === 'AAPL' ? [{ date: '2024-01-02T00:00:00.000Z', close: 185.64 }] : [{ date: '2024-01-02T00:00:00.000Z', close: 248.42 }] } }
      return { status: 404, body: 'x' }
    })
    const config = { api_key: 'sd-key', symbols: ['AAPL', 'TSLA'], industries: ['Technology'], filter_entities: true, start_date: '2024-01-01T00:00:00Z' }
    const { records, states } = await readAll(source, config, catalogFor(['news_feeds_per_symbols', 'eod_data'], 'incremental'))
    assert.deepEqual(records.news_feeds_per_symbols?.map((r) => r.uuid), ['n1', 'n2'])
    assert.deepEqual(records.eod_data?.map((r) => r.ticker), ['AAPL', 'TSLA'])
    const news = api.requests.filter((r) => r.path === '/v1/news/all')
    assert.equal(news.length, 2)
    const q = news[0]?.query
    assert.equal(q?.get('api_token'), 'sd-key')
    assert.equal(q?.get('filter_entities'), 'True')
    assert.equal(q?.get('page'), '1')
    assert.equal(q?.get('limit'), '50')
    assert.equal(q?.get('published_after'), '2024-01-01')
    assert.equal(q?.get('published_before'), today)
    const newsState = states.filter((s) => s.stream.name === 'news_feeds_per_symbols').at(-1)?.data as { states: Array<{ partition: { symb: string }; cursor: Record<string, string> }> }
    assert.deepEqual(newsState.states.map((s) => [s.partition.symb, s.cursor.published_at]), [['AAPL', '2024-03-01'], ['TSLA', '2024-01-01']])
  })
})

describe('source-luma', () => {
  test('wildcard dpath, cursor token, substream request_option, hash + RemoveFields', async () => {
    const { api, source } = await setup('source-luma', (r) => {
      if (r.headers['x-luma-api-key'] !== 'luma-key') return { status: 401, body: {} }
      if (r.path === '/public/v1/calendar/list-events') {
        if (r.query.get('pagination_cursor') === 'cur_2') return { body: { entries: [{ api_id: 'evt-CCC333', event: { api_id: 'evt-CCC333' } }], has_more: false, next_cursor: null } }
        return { body: { entries: [{ api_id: 'evt-AAA111', event: { api_id: 'evt-AAA111' } }, { api_id: 'evt-BBB222', event: { api_id: 'evt-BBB222' } }], has_more: true, next_cursor: 'cur_2' } }
      }
      if (r.path === '/public/v1/event/get-guests') {
        if (r.query.get('event_api_id') !== 'evt-AAA111') return { body: { entries: [], has_more: false } }
        return {
          body: {
            entries: [
              { api_id: 'gst-1', guest: { api_id: 'gst-1', email: 'ada@example.com', user_email: 'ada@example.com', phone_number: '+15551234567' } },
              { api_id: 'gst-2', guest: { api_id: 'gst-2', email: 'grace@example.org', user_email: 'grace@example.org', phone_number: null } },
            ],
            has_more: false,
            next_cursor: null,
          },
        }
      }
      return { status: 404, body: 'x' }
    })
    const { records } = await readAll(source, { api_key: 'luma-key' }, catalogFor(['events', 'event-guests']))
    assert.deepEqual(records.events?.map((e) => e.api_id), ['evt-AAA111', 'evt-BBB222', 'evt-CCC333'])
    assert.deepEqual(records['event-guests'], [
      { api_id: 'gst-1', email_hash: '3e3417d7ef77d5932a6734b916515ed5', phone_number_hash: 'dd065fdf4469ee22b6bb8b76408fa030' },
      { api_id: 'gst-2', email_hash: '85cd7606472c479b1aa5ede6343dc5e8', phone_number_hash: '6adf97f83acf6453d4a6a4b1070f3754' },
    ])
    const guestReqs = api.requests.filter((r) => r.path === '/public/v1/event/get-guests').map((r) => r.query.get('event_api_id'))
    assert.deepEqual(guestReqs, ['evt-AAA111', 'evt-BBB222', 'evt-CCC333'])
  })
})

describe('source-chargedesk', () => {
  test('Basic auth, OffsetIncrement 500, epoch-seconds cursor and state', async () => {
    const { api, source } = await setup('source-chargedesk', (r) => {
      if (r.path === '/v1/charges') {
        const offset = Number(r.query.get('offset'))
        if (offset === 0) return { body: { data: Array.from({ length: 500 }, (_, i) => ({ charge_id: `ch_${i}`, occurred: i === 7 ? '1706745600' : '1704153600' })) } }
        return { body: { data: [{ charge_id: 'ch_501', occurred: '1707000000' }] } }
      }
      return { body: { data: [] } }
    })
    const config = { username: 'sk_test_chargedesk', start_date: 1704067200 }
    const { records, states } = await readAll(source, config, catalogFor(['charges'], 'incremental'))
    assert.equal(records.charges?.length, 501)
    const reqs = api.requests
    assert.equal(reqs[0]?.headers.authorization, 'Basic c2tfdGVzdF9jaGFyZ2VkZXNrOg==')
    assert.equal(reqs[0]?.query.get('count'), '500')
    assert.equal(reqs[0]?.query.get('offset'), '0')
    assert.equal(reqs[0]?.query.get('occurred[min]'), '1704067200')
    assert.equal(reqs[1]?.query.get('offset'), '500')
    assert.deepEqual(states.at(-1)?.data, { occurred: '1707000000' })
  })
})

describe('source-zapsign', () => {
  test('Bearer, absolute next URL, state without request options, ListPartitionRouter path', async () => {
    const { api, source } = await setup('source-zapsign', (r) => {
      if (r.headers.authorization !== 'Bearer zs-token') return { status: 401, body: {} }
      if (r.path === '/api/v1/templates/' && r.query.get('page') === '2') {
        return { body: { next: null, results: [{ token: 'tpl-3', last_update_at: '2024-01-11T12:00:00.000000Z' }] } }
      }
      if (r.path === '/api/v1/templates/') {
        return { body: { next: 'https://api.zapsign.com.br/api/v1/templates/?page=2', results: [{ token: 'tpl-1', last_update_at: '2024-05-10T13:45:12.123456Z' }, { token: 'tpl-2', last_update_at: '2024-03-01T08:00:00.000000Z' }] } }
      }
      if (r.path.startsWith('/api/v1/signers/')) return { body: { token: r.path.split('/').pop(), status: 'signed' } }
      return { body: { next: null, results: [] } }
    })
    const config = { api_token: 'zs-token', start_date: '2024-01-01T00:00:00Z', signer_ids: ['3b5f1c9e-77aa-4b0e-9a0e-2f1d3c4b5a6f'] }
    const { records, states } = await readAll(source, config, catalogFor(['templates', 'signer'], 'incremental'))
    assert.deepEqual(records.templates?.map((t) => t.token), ['tpl-1', 'tpl-2', 'tpl-3'])
    assert.deepEqual(records.signer, [{ token: '3b5f1c9e-77aa-4b0e-9a0e-2f1d3c4b5a6f', status: 'signed' }])
    assert.deepEqual(states.filter((s) => s.stream.name === 'templates').at(-1)?.data, { last_update_at: '2024-05-10T13:45:12.123456Z' })
    assert.equal(api.requests[0]?.query.toString(), '')
  })
})

describe('source-plaid', () => {
  test('POST with nested body_json, templated host, empty offset dropped, cursor in body_json', async () => {
    const { api, source } = await setup('source-plaid', (r) => {
      if (r.host !== 'sandbox.plaid.com') return { status: 404, body: 'x' }
      if (r.path === '/accounts/balance/get') {
        return { body: { accounts: [{ account_id: 'A1', balances: { available: 100, current: 110, iso_currency_code: 'USD', limit: null, unofficial_currency_code: null }, mask: '0000', name: 'n', official_name: 'o', subtype: 's', type: 't' }] } }
      }
      if (r.path === '/transactions/get') {
        const body = JSON.parse(r.body) as { options: { offset?: number } }
        if (body.options.offset === 2) return { body: { transactions: [] } }
        return { body: { transactions: [{ transaction_id: 't1', date: '2024-03-15' }, { transaction_id: 't2', date: '2024-02-03' }] } }
      }
      return { status: 404, body: 'x' }
    })
    const config = { plaid_env: 'sandbox', client_id: 'cid-123', api_key: 'secret-abc', access_token: 'access-sandbox-xyz', start_date: '2024-01-01' }
    const { records, states } = await readAll(source, config, catalogFor(['balance', 'transaction'], 'incremental'))
    assert.deepEqual(records.balance, [{ account_id: 'A1', available: 100, current: 110, iso_currency_code: 'USD', limit: null, unofficial_currency_code: null }])
    assert.equal(records.transaction?.length, 2)
    const [bal, tx1, tx2] = api.requests
    assert.equal(bal?.method, 'POST')
    assert.deepEqual(JSON.parse(bal?.body ?? '{}'), { secret: 'secret-abc', options: { min_last_updated_datetime: '2024-01-01T00:00:00Z' }, client_id: 'cid-123', access_token: 'access-sandbox-xyz' })
    const b1 = JSON.parse(tx1?.body ?? '{}') as Record<string, unknown>
    assert.deepEqual(b1.options, {})
    assert.equal(b1.start_date, '2024-01-01')
    assert.equal(b1.end_date, today)
    assert.deepEqual((JSON.parse(tx2?.body ?? '{}') as Record<string, unknown>).options, { offset: 2 })
    assert.deepEqual(states.at(-1)?.data, { date: '2024-03-15' })
  })
})
