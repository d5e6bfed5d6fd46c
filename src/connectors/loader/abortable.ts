import { cancelledError } from '../../errors.js'

/**
 * Iterates `input` but rejects as soon as `signal` aborts, even while the producer is stuck
 * (the destination must stop promptly; the hung producer is told to return, not awaited).
 * Each step gets its own abort listener, removed once the step settles: racing every step
 * against one long-lived promise would pin each batch in that promise's reactions.
 */
export async function* abortable<T>(input: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = input[Symbol.asyncIterator]()
  let done = false
  try {
    for (;;) {
      if (signal.aborted) throw cancelledError()
      const next = await new Promise<IteratorResult<T>>((resolve, reject) => {
        const onAbort = (): void => reject(cancelledError())
        signal.addEventListener('abort', onAbort, { once: true })
        it.next().then(
          (r) => {
            signal.removeEventListener('abort', onAbort)
            resolve(r)
          },
          (e: unknown) => {
            signal.removeEventListener('abort', onAbort)
            reject(e)
          },
        )
      })
      if (next.done) {
        done = true
        return
      }
      yield next.value
    }
  } finally {
    if (!done) void Promise.resolve(it.return?.()).catch(() => undefined)
  }
}
