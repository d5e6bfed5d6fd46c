import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request the receiver got. */
export interface ReceivedRequest {
  method: string
  url: string
  authorization: string | undefined
  contentType: string | undefined
  body: string
}

/** A loopback HTTP server standing in for Slack or any webhook; it records every request. */
export interface WebhookReceiver {
  /** e.g. http://127.0.0.1:41234 */
  origin: string
  received: ReceivedRequest[]
  close(): Promise<void>
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Starts the receiver; `respond` picks the answer per request (default 200 "ok"). */
export async function startWebhookReceiver(
  respond: (request: ReceivedRequest) => { status: number; body?: string; headers?: Record<string, string> } = () => ({ status: 200, body: 'ok' }),
): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = []
  const server = createServer((req, res) => {
    void bodyOf(req).then((body) => {
      const request = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body }
      received.push(request)
      const answer = respond(request)
      res.writeHead(answer.status, answer.headers ?? {})
      res.end(answer.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
