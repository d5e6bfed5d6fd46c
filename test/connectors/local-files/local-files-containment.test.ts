import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { LocalFilesDestination } from '../../../src/connectors/local-files/index.js'
import type { SluiceError } from '../../../src/errors.js'
import { MIXED_SCHEMA, collect, configuredStream, messages, runOptions } from '../../formats/fixtures.js'

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix))
}

test('a link below destination_path that points outside the root is never written or deleted through', async () => {
  const root = await tempDir('sluice-root-')
  const outside = await tempDir('sluice-outside-')
  try {
    // An older generation's file outside the root, reachable through root/out/public -> outside.
    await mkdir(path.join(outside, 'users'))
    await writeFile(path.join(outside, 'users', '2024_01_01_1704067200000_0.jsonl.gz'), '{"keep":"me"}\n')
    await writeFile(path.join(outside, 'users', '.2024_01_01_1704067200000_0.jsonl.gz.sluice-generation'), '0')
    await mkdir(path.join(root, 'out'))
    await symlink(outside, path.join(root, 'out', 'public'))
    const catalog = { streams: [configuredStream('users', MIXED_SCHEMA, { generationId: 3 })] }
    await assert.rejects(
      collect(new LocalFilesDestination().write({ destination_path: 'out', format: { format_type: 'JSONL' } }, catalog, messages(catalog, 20, 10), runOptions(root))),
      (e: SluiceError) => e.failureType === 'config_error' && /leads outside the local files root through a link/.test(e.message),
    )
    assert.deepEqual(await readdir(path.join(outside, 'users')), ['.2024_01_01_1704067200000_0.jsonl.gz.sluice-generation', '2024_01_01_1704067200000_0.jsonl.gz'], 'nothing written, nothing deleted outside')
  } finally {
    await rm(root, { recursive: true, force: true })
    await rm(outside, { recursive: true, force: true })
  }
})

test('a generation marker that cannot be read fails the sync instead of deleting the file as an older generation', async () => {
  const root = await tempDir('sluice-gen-')
  try {
    const dir = path.join(root, 'out', 'public', 'users')
    await mkdir(dir, { recursive: true })
    await writeFile(path.join(dir, '2024_01_01_1704067200000_0.jsonl.gz'), '{"id":1}\n')
    // Reading the marker fails with EISDIR: not "no marker", so not generation 0.
    await mkdir(path.join(dir, '.2024_01_01_1704067200000_0.jsonl.gz.sluice-generation'))
    const catalog = { streams: [configuredStream('users', MIXED_SCHEMA, { generationId: 5 })] }
    await assert.rejects(collect(new LocalFilesDestination().write({ destination_path: 'out', format: { format_type: 'JSONL' } }, catalog, messages(catalog, 20, 10), runOptions(root))), /EISDIR/)
    assert.ok((await readdir(dir)).includes('2024_01_01_1704067200000_0.jsonl.gz'), 'the file whose generation is unknown is kept')
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})
