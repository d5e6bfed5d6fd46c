import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

/** Route config flag of the web UI's own routes (its files and the app fallback). */
export const WEB_UI_ASSET = 'webUiAsset'

/** True when the request matched one of the web UI's routes: files with no data, open without the token. */
export function isWebUiAsset(routeConfig: unknown): boolean {
  return typeof routeConfig === 'object' && routeConfig !== null && (routeConfig as Record<string, unknown>)[WEB_UI_ASSET] === true
}

/** Paths the server answers itself: never the app, even when nothing there matches. */
const SERVER_PATHS = ['/api', '/v1', '/metrics']

/** Where `npm run build:web` writes the single-page app: dist/web of the package. */
export function webUiRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) {
      const root = join(dir, 'dist', 'web')
      return existsSync(join(root, 'index.html')) ? root : undefined
    }
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * Serves the web UI at `/`: the built files, and index.html for every other GET path outside
 * /api (the app routes in the browser). API routes keep priority: they are static paths, which
 * the router prefers over the fallback wildcard, and an unknown /api path still answers the
 * API's 404 body. The assets hold no data, so they are served without the API token
 * (src/api/auth.ts opens exactly the routes tagged here); the app asks for the token when the API
 * answers 401.
 * `root` is {@link webUiRoot}'s answer; undefined (not built) serves nothing.
 */
export async function registerWebUi(app: FastifyInstance, root: string | undefined): Promise<void> {
  if (root === undefined) {
    app.log.warn('web UI not built (dist/web/index.html missing): run `npm run build:web`; the API works without it')
    return
  }
  // Every route of this scope (the files and the fallback) is tagged as a UI asset: auth opens
  // exactly these, whatever their path, and nothing else outside /api by accident.
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), [WEB_UI_ASSET]: true }
    })
    await scope.register(fastifyStatic, {
      root,
      // One route per built file, so the fallback below can own the wildcard.
      wildcard: false,
      index: false,
      // File names under assets/ carry a content hash: cache them for good.
      setHeaders: (res, path) => {
        res.header('cache-control', path.startsWith(join(root, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache')
      },
    })
    scope.get('/*', async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/'
      // A missing API endpoint (Config API, Public API, metrics) or a missing file (a name with
      // an extension) is a 404, not the app.
      if (SERVER_PATHS.some((p) => path === p || path.startsWith(`${p}/`)) || /\.[a-z0-9]+$/i.test(path)) {
        // The not-found handler of whichever API owns the path answers, in that API's shape.
        return reply.callNotFound()
      }
      return reply.header('cache-control', 'no-cache').sendFile('index.html')
    })
  })
}
