/** One running task: its events queue up (at most `buffer`) until the consumer reaches it. */
interface Task<E> {
  queue: E[]
  done: boolean
  error: { e: unknown } | undefined
  wakeConsumer: (() => void) | undefined
  wakeProducer: (() => void) | undefined
}

/**
 * Runs `run(item)` for up to `limit` items at a time and yields their events in item order: the
 * first item's events stream through as they come, later items read ahead until `buffer` events
 * wait in their queue. Memory stays bounded (limit x buffer events), and whatever the consumer
 * does with events (state checkpoints) happens in item order. Stopping early (break, error,
 * abort) stops every running task.
 */
export async function* orderedConcurrent<T, E>(items: AsyncIterable<T>, run: (item: T, signal: AbortSignal) => AsyncIterable<E>, limit: number, signal: AbortSignal, buffer = 1): AsyncGenerator<E> {
  if (limit <= 1) {
    // Sequential: no read-ahead at all, the consumer pulls every page.
    for await (const item of items) yield* run(item, signal)
    return
  }
  const stop = new AbortController()
  const taskSignal = AbortSignal.any([signal, stop.signal])
  const tasks: Task<E>[] = []
  const iterator = items[Symbol.asyncIterator]()
  let exhausted = false
  const start = (item: T): void => {
    const task: Task<E> = { queue: [], done: false, error: undefined, wakeConsumer: undefined, wakeProducer: undefined }
    const wake = (): void => {
      task.wakeConsumer?.()
      task.wakeConsumer = undefined
    }
    tasks.push(task)
    void (async () => {
      try {
        for await (const ev of run(item, taskSignal)) {
          task.queue.push(ev)
          wake()
          while (task.queue.length >= buffer && !taskSignal.aborted) await new Promise<void>((r) => (task.wakeProducer = r))
          if (taskSignal.aborted) break
        }
      } catch (e) {
        task.error = { e }
      } finally {
        task.done = true
        wake()
      }
    })()
  }
  const fill = async (): Promise<void> => {
    while (!exhausted && tasks.length < Math.max(1, limit)) {
      const next = await iterator.next()
      if (next.done) exhausted = true
      else start(next.value)
    }
  }
  try {
    await fill()
    while (tasks.length > 0) {
      const head = tasks[0] as Task<E>
      for (;;) {
        if (head.queue.length > 0) {
          const ev = head.queue.shift() as E
          head.wakeProducer?.()
          head.wakeProducer = undefined
          yield ev
          continue
        }
        if (head.error) throw head.error.e
        if (head.done) break
        await new Promise<void>((r) => (head.wakeConsumer = r))
      }
      tasks.shift()
      await fill()
    }
  } finally {
    stop.abort()
    for (const t of tasks) t.wakeProducer?.()
    if (!exhausted) await iterator.return?.()
  }
}
