import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ExternalSource } from '../../../src/connectors/external/external-source.js'
import { runAttempt } from '../../../src/engine/index.js'
import { readTestDestination } from '../../../src/connectors/test-destination/test-destination.js'
import type { ConfiguredCatalog } from '../../../src/protocol/index.js'
import { attemptInput, latestStates, sandbox } from '../../engine/engine-helpers.js'
import { localRunner, runOptions, specOf } from './external-helpers.js'

/** A connector built on faros-airbyte-cdk (third-party TypeScript CDK): LEGACY state, type-last JSON lines. */
describe('external source built on faros-airbyte-cdk (local runner)', () => {
  const source = async (): Promise<ExternalSource> => {
    const runner = localRunner()
    const spec = await specOf('farosai/source-faros', { runner })
    return new ExternalSource({ image: { repository: 'farosai/source-faros', tag: 'dev' }, spec, runner })
  }

  it('spec, check and discover', async () => {
    const s = await source()
    assert.equal(s.spec.documentationUrl, 'https://example.com/faros-fixture')
    assert.equal((await s.check({ token: 'fine-token' }, runOptions())).status, 'succeeded')
    assert.equal((await s.check({ token: 'bad' }, runOptions())).status, 'failed')
    const catalog = await s.discover({ token: 'fine-token' }, runOptions())
    assert.deepEqual(catalog.streams.map((x) => [x.name, x.supportedSyncModes]), [['tickets', ['full_refresh', 'incremental']]])
  })

  it('syncs incrementally and resumes from its (compressed, legacy) state', async () => {
    const box = await sandbox()
    try {
      const s = await source()
      const catalog: ConfiguredCatalog = {
        streams: [
          {
            stream: { name: 'tickets', jsonSchema: {}, supportedSyncModes: ['full_refresh', 'incremental'] },
            syncMode: 'incremental',
            destinationSyncMode: 'append',
            cursorField: ['id'],
            primaryKey: [['id']],
            syncId: 1,
            generationId: 0,
            minimumGenerationId: 0,
          },
        ],
      }
      const first = attemptInput(box, { source: s, sourceConfig: { token: 'fine-token', count: 3 }, catalog })
      assert.equal((await runAttempt(first)).totalStats.recordsCommitted, 3)
      const state = latestStates(first.committed)
      assert.equal(state.length, 1)
      const opts = runOptions()
      const second = attemptInput(box, { source: s, sourceConfig: { token: 'fine-token', count: 5 }, catalog, state })
      second.options = { ...second.options, logger: opts.logger }
      await runAttempt(second)
      const ids = (await readTestDestination(box.outDir, { name: 'tickets' })).map((l) => l._airbyte_data.id)
      assert.deepEqual(ids, [1, 2, 3, 4, 5])
      // The CDK got its own legacy blob back (it logs the state it starts from).
      assert.ok(opts.logger.lines.some((l) => l.includes('source: State: {"format":"base64/gzip"')))
    } finally {
      await box.cleanup()
    }
  })
})
