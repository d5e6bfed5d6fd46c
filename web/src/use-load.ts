import { useCallback, useEffect, useRef, useState } from 'react'
import { errorMessage } from './api.js'

/** The state of one asynchronous load. */
export interface Loaded<T> {
  data: T | undefined
  error: string | undefined
  loading: boolean
  /** Loads again (keeps the old data on screen meanwhile). */
  reload(): void
}

/**
 * Runs `load` now and whenever `deps` change; with `pollMs`, again every pollMs while the tab
 * is visible (the UI's live updates). A failed poll keeps the last data and shows the error.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs?: number | ((data: T | undefined) => number | undefined)): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  const dataRef = useRef<T | undefined>(undefined)
  const loadRef = useRef(load)
  loadRef.current = load
  useEffect(() => {
    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const run = async (): Promise<void> => {
      setLoading(true)
      try {
        const value = await loadRef.current(controller.signal)
        if (controller.signal.aborted) return
        dataRef.current = value
        setData(value)
        setError(undefined)
      } catch (e) {
        if (controller.signal.aborted) return
        setError(errorMessage(e))
      } finally {
        if (!controller.signal.aborted) setLoading(false)
      }
      const every = typeof pollMs === 'function' ? pollMs(dataRef.current) : pollMs
      if (every !== undefined && !controller.signal.aborted) {
        timer = setTimeout(function again() {
          if (document.hidden) timer = setTimeout(again, every)
          else void run()
        }, every)
      }
    }
    void run()
    return () => {
      controller.abort()
      if (timer !== undefined) clearTimeout(timer)
    }
  }, [...deps, tick])
  const reload = useCallback(() => setTick((n) => n + 1), [])
  return { data, error, loading, reload }
}
