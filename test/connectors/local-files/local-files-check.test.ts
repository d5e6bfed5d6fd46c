import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { RunOptions } from '../../../src/protocol/index.js'
import { localFilesDefinition } from '../../../src/connectors/local-files/index.js'
import { ConnectorRegistry } from '../../../src/connectors/registry.js'
import { builtinDefinitions } from '../../../src/connectors/builtin-definitions.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }

describe('Local Files check', () => {
  let root: string
  let outside: string
  let opts: RunOptions
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-lf-root-'))
    outside = await mkdtemp(path.join(os.tmpdir(), 'sluice-lf-outside-'))
    opts = { signal: new AbortController().signal, logger: silent, context: { dataDir: root, localFilesRoot: root } }
  })
  after(async () => {
    await rm(root, { recursive: true, force: true })
    await rm(outside, { recursive: true, force: true })
  })
  const dest = localFilesDefinition.destination

  it('is registered as a built-in destination named Local Files', () => {
    const d = new ConnectorRegistry(builtinDefinitions()).getDestination(localFilesDefinition.definitionId)
    assert.equal(d?.name, 'Local Files')
    assert.equal(d?.dockerRepository, 'sluice/destination-local-files')
  })

  it('succeeds for a relative path, creates the directory and leaves no probe', async () => {
    const status = await dest.check({ destination_path: 'a/b' }, opts)
    assert.equal(status.status, 'succeeded', status.message)
    assert.deepEqual(await readdir(path.join(root, 'a/b')), [])
  })

  it('accepts an absolute path inside the root', async () => {
    const status = await dest.check({ destination_path: path.join(root, 'abs') }, opts)
    assert.equal(status.status, 'succeeded', status.message)
  })

  for (const p of ['../escape', '/etc', 'a/../../x']) {
    it(`rejects ${p} as path traversal`, async () => {
      const status = await dest.check({ destination_path: p }, opts)
      assert.equal(status.status, 'failed')
      assert.match(status.message, /path traversal/)
    })
  }

  it('rejects a symlink that leads outside the root', async () => {
    await symlink(outside, path.join(root, 'link'))
    const status = await dest.check({ destination_path: 'link/sub' }, opts)
    assert.equal(status.status, 'failed')
    assert.match(status.message, /path traversal/)
  })

  it('fails readably when the directory cannot be created', async () => {
    await writeFile(path.join(root, 'file'), 'x')
    const status = await dest.check({ destination_path: 'file/sub' }, opts)
    assert.equal(status.status, 'failed')
    assert.match(status.message, /Cannot write to file\/sub/)
  })

  it('checks the format too: accepts Avro codecs it writes, refuses the others with the list', async () => {
    const ok = await dest.check({ destination_path: 'avro-ok', format: { format_type: 'Avro', compression_codec: { codec: 'snappy' } } }, opts)
    assert.equal(ok.status, 'succeeded', ok.message)
    const bzip2 = await dest.check({ destination_path: 'avro-bad', format: { format_type: 'Avro', compression_codec: { codec: 'bzip2' } } }, opts)
    assert.equal(bzip2.status, 'failed')
    assert.match(bzip2.message, /Avro codec "bzip2" is not supported by sluice.*sluice writes "no compression", "Deflate", "snappy", "zstandard"/)
    const level = await dest.check({ destination_path: 'avro-bad', format: { format_type: 'Avro', compression_codec: { codec: 'zstandard', compression_level: 30 } } }, opts)
    assert.equal(level.status, 'failed')
    assert.match(level.message, /compression_level for zstandard must be an integer from -5 to 22; got 30/)
    const parquet = await dest.check({ destination_path: 'avro-bad', format: { format_type: 'Parquet', compression_codec: { codec: 'snappy' } } }, opts)
    assert.match(parquet.message, /format.compression_codec must be a string for Parquet/)
  })
})
