import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isAuthorized } from '../api/auth.js'
import { errorBody } from '../api/error-handler.js'
import { FailedAuthLimiter, type FailedAuthLimits } from '../api/failed-auth-limiter.js'
import { SluiceError } from '../errors.js'
import type { MetricsExposure, SluiceMetrics } from '../metrics/index.js'

/** Where a worker process serves `GET /metrics`, and who may read it. */
export interface WorkerMetricsListenerOptions {
  metrics: SluiceMetrics
  host: string
  /** 0 picks a free port. */
  port: number
  /** `public` or `auth` (`off` opens no listener at all). */
  exposure: Exclude<MetricsExposure, 'off'>
  /** With `auth`, the token `SLUICE_API_TOKEN` (none: open, as on the API). */
  apiToken: string | undefined
  authLimits?: FailedAuthLimits
}

export interface WorkerMetricsListener {
  /** `http://host:port/metrics` */
  url: string
  close(): Promise<void>
}

const METRICS_PATH = '/metrics'

/**
 * A plain HTTP listener for the metrics of a `sluice worker` process, which has no API: `GET
 * /metrics` (and `HEAD`) only, under the API's exposure rules. With `auth` and a token, the
 * same credentials as the API (Bearer, or Basic with the token as password); repeated failures
 * from one address are refused for a while, as on the API. Errors answer with the API's bodies.
 */
export async function startWorkerMetricsListener(options: WorkerMetricsListenerOptions): Promise<WorkerMetricsListener> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `The metrics port (--metrics-port or SLUICE_METRICS_PORT) must be from 0 to 65535; got ${options.port}.`)
  }
  const token = options.exposure === 'auth' ? options.apiToken : undefined
  const limiter = new FailedAuthLimiter(options.authLimits)
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '').split('?')[0]?.replace(/\/+$/, '')
    if (path !== METRICS_PATH) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `No such endpoint: ${request.method} ${path}. A worker serves GET ${METRICS_PATH} only.`)
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD')
      throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `${request.method} ${METRICS_PATH} is not supported: use GET.`, { httpStatus: 405 })
    }
    if (token !== undefined) {
      const address = request.socket.remoteAddress ?? 'unknown'
      const waitMs = limiter.retryAfterMs(address)
      if (waitMs > 0) {
        response.setHeader('retry-after', String(Math.ceil(waitMs / 1000)))
        throw new SluiceError('SLUICE_ERR_TOO_MANY_ATTEMPTS', 'Too many failed authentications from this address: try again later.')
      }
      if (!isAuthorized(request.headers.authorization, token)) {
        limiter.recordFailure(address)
        response.setHeader('www-authenticate', 'Basic realm="sluice", Bearer')
        throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', 'Missing or invalid credentials: send Authorization: Bearer <SLUICE_API_TOKEN> or Basic auth with the token as password.')
      }
    }
    const { contentType, body } = await options.metrics.exposition()
    response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) })
    response.end(request.method === 'HEAD' ? undefined : body)
  }
  const server = createServer((request, response) => {
    handle(request, response).catch((e: unknown) => {
      const err = e instanceof SluiceError ? e : new SluiceError('SLUICE_ERR_INTERNAL', 'Internal Server Error.')
      if (response.headersSent) return void response.destroy()
      const body = JSON.stringify(errorBody(err))
      response.writeHead(err.httpStatus, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      response.end(body)
    })
  })
  await listen(server, options.host, options.port)
  const { port } = server.address() as AddressInfo
  const urlHost = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${urlHost}:${port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Listens, or fails with a message naming the setting (a port in use, an address not on this machine). */
function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const refused = (err: NodeJS.ErrnoException): void => {
      reject(new SluiceError('SLUICE_ERR_INVALID_INPUT', `The metrics listener (--metrics-host ${host} --metrics-port ${port}) could not start: ${err.code ?? err.message}.`))
    }
    server.once('error', refused)
    server.listen(port, host, () => {
      server.off('error', refused)
      resolve()
    })
  })
}
