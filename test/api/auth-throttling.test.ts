import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHarness } from './api-harness.js'

const TOKEN = 'tok-throttle'

async function throttledHarness() {
  let now = 1_000_000
  const h = await createHarness({ apiToken: TOKEN, authLimits: { maxFailures: 3, windowMs: 60_000, now: () => now } })
  return { h, advance: (ms: number) => (now += ms) }
}

function guess(h: Awaited<ReturnType<typeof createHarness>>, secret: string, remoteAddress = '127.0.0.2') {
  return h.app.inject({
    method: 'POST',
    url: '/api/v1/applications/token',
    remoteAddress,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ client_id: 'x', client_secret: secret }),
  })
}

test('failed token exchanges past the limit get 429 with Retry-After, even with the right secret', async () => {
  const { h, advance } = await throttledHarness()
  try {
    for (let i = 0; i < 3; i++) assert.equal((await guess(h, `wrong-${i}`)).statusCode, 401)
    const blocked = await guess(h, TOKEN)
    assert.equal(blocked.statusCode, 429)
    assert.equal(blocked.headers['retry-after'], '60')
    assert.equal(blocked.json().code, 'SLUICE_ERR_TOO_MANY_ATTEMPTS')
    advance(30_000)
    assert.equal((await guess(h, TOKEN)).headers['retry-after'], '30')
    advance(30_000)
    assert.equal((await guess(h, TOKEN)).statusCode, 200, 'the window ended')
  } finally {
    await h.close()
  }
})

test('bad bearer tokens count too, per client address; health stays open', async () => {
  const { h } = await throttledHarness()
  try {
    const call = (authorization: string, remoteAddress: string) =>
      h.app.inject({ method: 'POST', url: '/api/v1/workspaces/list', remoteAddress, headers: { authorization, 'content-type': 'application/json' }, payload: '{}' })
    for (let i = 0; i < 3; i++) assert.equal((await call(`Bearer nope-${i}`, '127.0.0.3')).statusCode, 401)
    assert.equal((await call(`Bearer ${TOKEN}`, '127.0.0.3')).statusCode, 429)
    assert.equal((await call(`Bearer ${TOKEN}`, '127.0.0.4')).statusCode, 200, 'another address is not affected')
    const health = await h.app.inject({ method: 'GET', url: '/api/v1/health', remoteAddress: '127.0.0.3' })
    assert.equal(health.statusCode, 200)
  } finally {
    await h.close()
  }
})

test('successful calls do not count against the limit', async () => {
  const { h } = await throttledHarness()
  try {
    for (let i = 0; i < 10; i++) assert.equal((await guess(h, TOKEN)).statusCode, 200)
    assert.equal((await guess(h, 'wrong')).statusCode, 401)
  } finally {
    await h.close()
  }
})
