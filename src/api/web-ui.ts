import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { SluiceError } from '../errors.js'

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
 * (src/api/auth.ts guards /api only); the app asks for the token when the API answers 401.
 * `root` is {@link webUiRoot}'s answer; undefined (not built) serves nothing.
 */
export async function registerWebUi(app: FastifyInstance, root: string | undefined): Promise<void> {
  if (root === undefined) {
    app.log.warn('web UI not built (dist/web/index.html missing): run `npm run build:web`; the API works without it')
    return
  }
  await app.register(fastifyStatic, {
    root,
    // One route per built file, so the fallback below can own the wildcard.
    wildcard: false,
    index: false,
    // File names under assets/ carry a content hash: cache them for good.
    setHeaders: (res, path) => {
      res.header('cache-control', path.startsWith(join(root, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache')
    },
  })
  app.get('/*', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/'
    // A missing API endpoint or a missing file (a name with an extension) is a 404, not the app.
    if (path === '/api' || path.startsWith('/api/') || /\.[a-z0-9]+$/i.test(path)) {
      throw new SluiceError('SLUICE_ERR_NOT_FOUND', `No such endpoint: GET ${path}.`)
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html')
  })
}
