import type { SourceMessage } from '../../protocol/index.js'
import { isRecordBatch } from '../../protocol/index.js'

/**
 * Runs `messages` ahead of the consumer, holding at most `maxBytes` of record batches (their
 * `bytes`) that were produced and not yet taken, so the producer's work (decoding the change
 * stream) goes on while the consumer waits (a destination merging at a STATE). Messages keep
 * their order; a producer error is thrown after the messages produced before it. When the
 * consumer stops early, `stop()` is called (it must make a pending `next()` of the producer
 * settle, e.g. by closing its connection), then the producer is returned so its `finally` runs.
 */
export async function* readAhead(
  messages: AsyncGenerator<SourceMessage>,
  maxBytes: number,
  stop: () => void,
): AsyncGenerator<SourceMessage> {
  const queue: SourceMessage[] = []
  let queuedBytes = 0
  let finished = false
  let stopped = false
  let failure: { err: unknown } | undefined
  let wakeConsumer: (() => void) | undefined
  let wakeProducer: (() => void) | undefined
  const pump = (async (): Promise<void> => {
    try {
      while (!stopped) {
        while (queuedBytes >= maxBytes && !stopped) await new Promise<void>((resolve) => (wakeProducer = resolve))
        if (stopped) break
        const next = await messages.next()
        if (next.done === true) break
        queue.push(next.value)
        if (isRecordBatch(next.value)) queuedBytes += next.value.bytes
        wakeConsumer?.()
      }
    } catch (err) {
      failure = { err }
    } finally {
      finished = true
      wakeConsumer?.()
    }
  })()
  try {
    for (;;) {
      const m = queue.shift()
      if (m !== undefined) {
        if (isRecordBatch(m)) {
          queuedBytes -= m.bytes
          wakeProducer?.()
        }
        yield m
        continue
      }
      if (failure) throw failure.err
      if (finished) return
      await new Promise<void>((resolve) => (wakeConsumer = resolve))
    }
  } finally {
    if (!finished) {
      stopped = true
      stop()
      wakeProducer?.()
    }
    await pump
    await messages.return(undefined)
  }
}
