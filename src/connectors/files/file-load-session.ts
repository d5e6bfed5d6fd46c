import type {
  ConfiguredCatalog,
  DestinationMessage,
  LoadSession,
  RunOptions,
  StateMessage,
} from '../../protocol/index.js'
import { runLoadSession } from '../loader/index.js'
import { FileStreamLoader } from './file-stream-loader.js'
import type { FileWriteSettings } from './file-write-settings.js'
import type { ObjectStore } from './object-store.js'

/**
 * The load session of a file destination (Local Files, S3): one FileStreamLoader per stream
 * over the store. A STATE waits up to `stateFlushMs` for its stream's part to complete on its
 * own (rotation), so files keep their size instead of being cut at every state. `onClose`
 * releases the store's client.
 */
export function fileLoadSession(store: ObjectStore, settings: FileWriteSettings, opts: RunOptions, onClose?: () => void): LoadSession {
  const syncStart = new Date()
  return {
    stateFlushMs: settings.stateFlushMs,
    createStreamLoader: (stream) => new FileStreamLoader(store, settings, stream, syncStart, opts),
    async close() {
      onClose?.()
    },
  }
}

/** Writes a sync's messages as files into `store`: the shared loop over a file load session. */
export function writeFiles(
  store: ObjectStore,
  settings: FileWriteSettings,
  catalog: ConfiguredCatalog,
  input: AsyncIterable<DestinationMessage>,
  opts: RunOptions,
): AsyncGenerator<StateMessage> {
  return runLoadSession(fileLoadSession(store, settings, opts), catalog, input, opts)
}
