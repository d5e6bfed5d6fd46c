import type { FastifyInstance } from 'fastify'
import { notFound } from '../../errors.js'
import type { ApiDeps } from '../deps.js'
import { toConnectionResponse } from './connection-mapping.js'
import { uuidList } from './public-query.js'
import { publicRoute, uuidParam } from './public-route.js'

type Tag = { tagId: string; name: string; color: string; workspaceId: string }

function isTag(v: unknown): v is Tag {
  const t = v as Partial<Tag>
  return typeof v === 'object' && v !== null && typeof t.tagId === 'string' && typeof t.name === 'string' && typeof t.workspaceId === 'string'
}

/**
 * GET /tags and /tags/{id}: the tags the workspace's connections carry (sluice keeps tags on
 * connections, as given in their `tags`; there is no separate tag store to create them in).
 */
export function registerPublicTagRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  const allTags = async (): Promise<Tag[]> => {
    const byId = new Map<string, Tag>()
    for (const conn of await deps.configStore.listConnections()) {
      for (const t of toConnectionResponse(conn).tags as unknown[]) if (isTag(t)) byId.set(t.tagId, { tagId: t.tagId, name: t.name, color: String(t.color ?? ''), workspaceId: t.workspaceId })
    }
    return [...byId.values()]
  }

  publicRoute(scope, 'GET', '/tags', { summary: 'Tags on the connections of some workspaces.', query: { workspaceIds: { type: 'array' } }, response: 'TagsResponse' }, async ({ query }) => {
    const workspaceIds = uuidList(query, 'workspaceIds')
    return { data: (await allTags()).filter((t) => workspaceIds === undefined || workspaceIds.includes(t.workspaceId)) }
  })

  publicRoute(scope, 'GET', '/tags/:tagId', { summary: 'A tag.', response: 'TagResponse' }, async (call) => {
    const id = uuidParam(call, 'tagId')
    const tag = (await allTags()).find((t) => t.tagId === id)
    if (tag === undefined) throw notFound('Tag', id)
    return tag
  })
}
