import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react'

const listeners = new Set<() => void>()

/** Moves to an app path (history API; the server answers index.html for it on reload). */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path)
  else history.pushState(null, '', path)
  for (const l of listeners) l()
  window.scrollTo(0, 0)
}

window.addEventListener('popstate', () => {
  for (const l of listeners) l()
})

/** The current path and query, re-rendering on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0)
  useEffect(() => {
    const l = (): void => setTick((n) => n + 1)
    listeners.add(l)
    return () => {
      listeners.delete(l)
    }
  }, [])
  return { path: location.pathname.replace(/\/+$/, '') || '/', query: new URLSearchParams(location.search) }
}

/** `/connections/:id` style matching; returns the named parts or undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/')
  const a = path.split('/')
  if (p.length !== a.length) return undefined
  const out: Record<string, string> = {}
  for (let i = 0; i < p.length; i++) {
    const seg = p[i] ?? ''
    const val = a[i] ?? ''
    if (seg.startsWith(':')) out[seg.slice(1)] = decodeURIComponent(val)
    else if (seg !== val) return undefined
  }
  return out
}

/** An in-app link: a real <a href> (open in new tab works) that navigates without a reload. */
export function Link({ to, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>): void => {
    rest.onClick?.(e)
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    e.preventDefault()
    navigate(to)
  }
  return <a {...rest} href={to} onClick={onClick} />
}
