/** How a delivery is retried and bounded. */
export interface DeliveryOptions {
  /** Tries in all, the first included (default 3). */
  attempts?: number
  /** Wait before retry n (1-based), in ms (default n seconds, at most 5). */
  backoffMs?: (retry: number) => number
  /** Per try (default 10 s). */
  timeoutMs?: number
  signal?: AbortSignal
  fetch?: typeof fetch
}

/** What became of a delivery: `ok` only for a 2xx answer. */
export interface DeliveryResult {
  ok: boolean
  /** The last HTTP status, when an answer came. */
  status?: number
  /** Why the last try failed (no URL in it). */
  detail?: string
  tries: number
}

/**
 * The part of a webhook URL that may be logged: scheme, host and port. Slack and most hooks
 * carry their secret in the path or the query, so neither is ever shown.
 */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '(invalid URL)'
  }
}

/**
 * POSTs a JSON body to a webhook, retrying failures with backoff. Only a 2xx answer counts:
 * redirects are not followed (a 3xx is a failure, as is any other status), so a hook that moved
 * is reported instead of silently hitting another address. Never throws.
 */
export async function deliverJson(url: string, body: unknown, options: DeliveryOptions = {}): Promise<DeliveryResult> {
  const attempts = options.attempts ?? 3
  const send = options.fetch ?? fetch
  let result: DeliveryResult = { ok: false, tries: 0, detail: 'not sent' }
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (options.signal?.aborted) return { ...result, detail: 'cancelled' }
    try {
      const signals = [AbortSignal.timeout(options.timeoutMs ?? 10_000), ...(options.signal ? [options.signal] : [])]
      const res = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.any(signals),
      })
      const text = (await res.text()).slice(0, 200)
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, tries: attempt }
      result = { ok: false, status: res.status, tries: attempt, detail: `HTTP ${res.status}${text ? ` ${text}` : ''}` }
    } catch (e) {
      result = { ok: false, tries: attempt, detail: e instanceof Error ? e.message.replaceAll(url, webhookOrigin(url)) : 'request failed' }
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, (options.backoffMs ?? ((n) => Math.min(5, n) * 1000))(attempt)))
  }
  return result
}
