import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  decryptSecrets,
  encryptSecrets,
  maskSecrets,
  restoreMaskedSecrets,
  secretPaths,
  secretValues,
} from '../../src/secrets/config-secrets.js'
import { isEncryptedValue, loadSecretKey, parseSecretKey, SECRET_MASK, SecretService } from '../../src/secrets/secret-service.js'
import { isSluiceError } from '../../src/errors.js'

/** Shaped like Airbyte's Postgres/S3 specs: secrets at the top, in oneOf branches, in array items. */
const spec = {
  type: 'object',
  properties: {
    host: { type: 'string' },
    password: { type: 'string', airbyte_secret: true },
    port: { type: 'integer', airbyte_secret: true },
    tunnel_method: {
      type: 'object',
      oneOf: [
        { properties: { tunnel_method: { const: 'NO_TUNNEL' } } },
        { properties: { tunnel_method: { const: 'SSH_KEY_AUTH' }, ssh_key: { type: 'string', airbyte_secret: true } } },
        { properties: { tunnel_method: { const: 'SSH_PASSWORD_AUTH' }, tunnel_user_password: { type: 'string', airbyte_secret: true } } },
      ],
    },
    credentials: { allOf: [{ properties: { api_key: { type: 'string', airbyte_secret: true } } }] },
    headers: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, value: { type: 'string', airbyte_secret: true } } } },
    auth: { anyOf: [{ properties: { token: { type: 'string', airbyte_secret: true } } }] },
  },
}

const config = {
  host: 'db',
  password: 'pw1',
  port: 5432,
  tunnel_method: { tunnel_method: 'SSH_PASSWORD_AUTH', tunnel_user_password: 'tpw' },
  credentials: { api_key: 'key1' },
  headers: [
    { name: 'a', value: 'v1' },
    { name: 'b', value: 'v2' },
  ],
  auth: { token: 'tok' },
  extra: 'not in spec',
}

describe('config secrets', () => {
  const secrets = new SecretService(randomBytes(32))

  it('finds secrets at the top, in the matching oneOf branch, allOf, anyOf and array items', () => {
    assert.deepEqual(secretPaths(spec, config).sort(), [
      'auth.token',
      'credentials.api_key',
      'headers.0.value',
      'headers.1.value',
      'password',
      'port',
      'tunnel_method.tunnel_user_password',
    ])
    assert.deepEqual(secretValues(spec, config).sort(), ['5432', 'key1', 'pw1', 'tok', 'tpw', 'v1', 'v2'])
  })

  it('masks every secret and nothing else', () => {
    const masked = maskSecrets(spec, config)
    assert.deepEqual(masked, {
      host: 'db',
      password: SECRET_MASK,
      port: SECRET_MASK,
      tunnel_method: { tunnel_method: 'SSH_PASSWORD_AUTH', tunnel_user_password: SECRET_MASK },
      credentials: { api_key: SECRET_MASK },
      headers: [
        { name: 'a', value: SECRET_MASK },
        { name: 'b', value: SECRET_MASK },
      ],
      auth: { token: SECRET_MASK },
      extra: 'not in spec',
    })
  })

  it('encrypts secrets (AES-256-GCM, random IV), decrypts them back with their types', () => {
    const stored = encryptSecrets(spec, config, secrets)
    assert.ok(isEncryptedValue(stored.password))
    assert.ok(isEncryptedValue(stored.port), 'numbers are secrets too')
    assert.equal(stored.host, 'db')
    assert.ok(!JSON.stringify(stored).includes('pw1'))
    assert.notEqual(encryptSecrets(spec, config, secrets).password, stored.password, 'a fresh IV each time')
    assert.deepEqual(decryptSecrets(stored, secrets), config)
    // Encrypted values are masked even when the spec no longer marks them secret.
    assert.equal(maskSecrets({ type: 'object' }, stored).password, SECRET_MASK)
  })

  it('refuses to decrypt with another key or a tampered value (SLUICE_ERR_SECRET_DECRYPT)', () => {
    const stored = encryptSecrets(spec, config, secrets)
    const other = new SecretService(randomBytes(32))
    assert.throws(() => decryptSecrets(stored, other), (e) => isSluiceError(e) && e.code === 'SLUICE_ERR_SECRET_DECRYPT' && !e.message.includes('pw1'))
    const value = stored.password as string
    const tampered = value.slice(0, -4) + (value.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    assert.throws(() => secrets.decrypt(tampered), (e) => isSluiceError(e) && e.code === 'SLUICE_ERR_SECRET_DECRYPT')
  })

  it('restores masked secrets from the stored config by path; other values overwrite; unmatched masks are dropped', () => {
    const incoming = {
      ...maskSecrets(spec, config),
      credentials: { api_key: 'new-key' },
      headers: [{ name: 'a', value: SECRET_MASK }, { name: 'c', value: SECRET_MASK }, { name: 'd', value: SECRET_MASK }],
    }
    const restored = restoreMaskedSecrets(spec, incoming, config)
    assert.equal(restored.password, 'pw1')
    assert.equal(restored.port, 5432)
    assert.deepEqual(restored.tunnel_method, config.tunnel_method)
    assert.deepEqual(restored.credentials, { api_key: 'new-key' })
    assert.deepEqual(restored.headers, [{ name: 'a', value: 'v1' }, { name: 'c', value: 'v2' }, { name: 'd' }])
    const switched = restoreMaskedSecrets(spec, { tunnel_method: { tunnel_method: 'SSH_KEY_AUTH', ssh_key: SECRET_MASK } }, config)
    assert.deepEqual(switched.tunnel_method, { tunnel_method: 'SSH_KEY_AUTH' }, 'no stored ssh_key: the mask is dropped, not stored')
  })
})

describe('secret key', () => {
  it('parses 64 hex characters and base64 of 32 bytes, rejects anything else', () => {
    const key = randomBytes(32)
    assert.deepEqual(parseSecretKey(key.toString('hex')), key)
    assert.deepEqual(parseSecretKey(key.toString('base64')), key)
    assert.deepEqual(parseSecretKey(`${key.toString('hex')}\n`), key)
    assert.equal(parseSecretKey('abc'), undefined)
    assert.equal(parseSecretKey(randomBytes(16).toString('base64')), undefined)
  })

  it('creates <dataDir>/secret.key with mode 0600 once, then reuses it; SLUICE_SECRET_KEY wins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-key-'))
    try {
      const first = loadSecretKey({ dataDir: dir })
      const file = join(dir, 'secret.key')
      assert.equal((await stat(file)).mode & 0o777, 0o600)
      assert.deepEqual(loadSecretKey({ dataDir: dir }), first)
      assert.equal((await readFile(file, 'utf8')).trim(), first.toString('hex'))
      const env = randomBytes(32)
      assert.deepEqual(loadSecretKey({ dataDir: dir, envKey: env.toString('hex') }), env)
      assert.throws(() => loadSecretKey({ dataDir: dir, envKey: 'nope' }), /SLUICE_SECRET_KEY must be 64 hex characters/)
      await writeFile(file, 'garbage')
      assert.throws(() => loadSecretKey({ dataDir: dir }), /does not hold a valid key/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
