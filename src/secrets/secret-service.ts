import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SluiceError } from '../errors.js'

/** The literal Airbyte returns in place of every secret (`AirbyteSecretConstants.SECRETS_MASK`). */
export const SECRET_MASK = '**********'

/** Prefix of an encrypted value inside a stored configuration: `sluice:v1:<base64(iv|tag|ciphertext)>`. */
const ENCRYPTED_PREFIX = 'sluice:v1:'
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * AES-256-GCM encryption of single configuration values. A value is JSON-encoded before
 * encryption so numbers and objects marked secret come back with their type.
 */
export class SecretService {
  readonly #key: Buffer

  constructor(key: Buffer) {
    if (key.length !== 32) throw new SluiceError('SLUICE_ERR_INTERNAL', 'The secret key must be 32 bytes.')
    this.#key = key
  }

  encrypt(value: unknown): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
    return ENCRYPTED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')
  }

  decrypt(stored: string): unknown {
    const raw = Buffer.from(stored.slice(ENCRYPTED_PREFIX.length), 'base64')
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES))
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
    try {
      const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()])
      return JSON.parse(plain.toString('utf8'))
    } catch (cause) {
      // Wrong key (SLUICE_SECRET_KEY changed) or a tampered value: say so without any detail.
      throw new SluiceError('SLUICE_ERR_SECRET_DECRYPT', 'A stored secret could not be decrypted: was SLUICE_SECRET_KEY changed?', { cause })
    }
  }
}

/** True for a string produced by {@link SecretService.encrypt}. */
export function isEncryptedValue(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENCRYPTED_PREFIX)
}

/**
 * Parses a key given as 64 hex characters or as base64 of 32 bytes.
 * Returns undefined when the text is neither.
 */
export function parseSecretKey(text: string): Buffer | undefined {
  const trimmed = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex')
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const buf = Buffer.from(trimmed, 'base64')
    if (buf.length === 32) return buf
  }
  return undefined
}

export interface SecretKeyOptions {
  dataDir: string
  /** Usually process.env.SLUICE_SECRET_KEY. */
  envKey?: string | undefined
}

/**
 * Loads the secret key: SLUICE_SECRET_KEY when set, else `<dataDir>/secret.key`, created with
 * mode 0600 (64 hex characters) on first start.
 */
export function loadSecretKey(options: SecretKeyOptions): Buffer {
  if (options.envKey !== undefined && options.envKey !== '') {
    const key = parseSecretKey(options.envKey)
    if (!key) {
      throw new SluiceError('SLUICE_ERR_INVALID_INPUT', 'SLUICE_SECRET_KEY must be 64 hex characters or the base64 form of 32 bytes.', {
        httpStatus: 500,
      })
    }
    return key
  }
  const file = join(options.dataDir, 'secret.key')
  if (existsSync(file)) {
    const key = parseSecretKey(readFileSync(file, 'utf8'))
    if (!key) throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `${file} does not hold a valid key (64 hex characters).`, { httpStatus: 500 })
    return key
  }
  mkdirSync(options.dataDir, { recursive: true })
  const key = randomBytes(32)
  // 'wx' fails if another process created the file in between; then read theirs.
  try {
    writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadSecretKey(options)
    throw e
  }
  return key
}
