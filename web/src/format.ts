/** "3 min ago" / "in 2 h" from epoch seconds. */
export function relativeTime(epochSeconds: number | undefined, now = Date.now()): string {
  if (epochSeconds === undefined || epochSeconds === null) return '—'
  const diff = Math.round((epochSeconds * 1000 - now) / 1000)
  const abs = Math.abs(diff)
  const [value, unit] =
    abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd']
  if (abs < 5) return 'just now'
  return diff < 0 ? `${value} ${unit} ago` : `in ${value} ${unit}`
}

/** Local date and time of epoch seconds. */
export function dateTime(epochSeconds: number | undefined): string {
  if (epochSeconds === undefined || epochSeconds === null) return '—'
  return new Date(epochSeconds * 1000).toLocaleString()
}

/** 1536 -> "1.5 KiB". */
export function bytes(n: number | undefined): string {
  if (n === undefined || n === null) return '—'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

/** 12345 -> "12,345". */
export function count(n: number | undefined): string {
  return n === undefined || n === null ? '—' : n.toLocaleString('en-US')
}

/** Seconds between two epoch-second times as "1 min 5 s". */
export function duration(startSeconds: number | undefined, endSeconds: number | undefined): string {
  if (startSeconds === undefined || startSeconds === null) return '—'
  const s = Math.max(0, Math.round((endSeconds ?? Date.now() / 1000) - startSeconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}
