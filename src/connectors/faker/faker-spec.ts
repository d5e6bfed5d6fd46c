import type { ConnectorSpecification } from '../../protocol/index.js'
import { configError } from '../../errors.js'

/**
 * The seed used when `seed` is -1 (the default). Airbyte's Faker picks a random seed for -1;
 * sluice uses this fixed one instead so that two syncs of a default-configured source produce
 * the same rows (reproducible demos and benchmarks).
 */
export const DEFAULT_FAKER_SEED = 20240101

/** Faker configuration after defaults are applied. */
export interface FakerConfig {
  count: number
  seed: number
  recordsPerSlice: number
  alwaysUpdated: boolean
}

/** Airbyte's source-faker spec (same property names and defaults; `parallelism` is accepted and ignored). */
export const fakerSpec: ConnectorSpecification = {
  documentationUrl: 'https://docs.airbyte.com/integrations/sources/faker',
  supportsIncremental: true,
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Faker Source Spec',
    type: 'object',
    required: [],
    additionalProperties: true,
    properties: {
      count: {
        title: 'Count',
        description: 'How many users should be generated in total. The purchases table has the same number of rows; products is a fixed catalogue of 100.',
        type: 'integer',
        minimum: 1,
        // Row ids must stay exact integers.
        maximum: Number.MAX_SAFE_INTEGER,
        default: 1000,
        order: 0,
      },
      seed: {
        title: 'Seed',
        description: 'Seed of the generator: the same seed always produces the same rows. -1 uses the built-in default seed.',
        type: 'integer',
        default: -1,
        order: 1,
      },
      records_per_slice: {
        title: 'Records Per Stream Slice',
        description: 'How many rows go in one batch; a STATE checkpoint follows each batch.',
        type: 'integer',
        minimum: 1,
        default: 1000,
        order: 2,
      },
      always_updated: {
        title: 'Always Updated',
        description: 'Whether every row gets a new updated_at on each sync (so incremental syncs re-emit everything). When false, updated_at is fixed per row and an incremental sync after a complete one emits nothing new.',
        type: 'boolean',
        default: true,
        order: 3,
      },
      parallelism: {
        title: 'Parallelism',
        description: 'Accepted for compatibility with Airbyte configurations; sluice generates in one thread, far faster than any destination.',
        type: 'integer',
        minimum: 1,
        default: 4,
        order: 4,
      },
    },
  },
}

function integerField(config: Record<string, unknown>, key: string, fallback: number, min: number | undefined): number {
  const v = config[key]
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw configError(`'${key}' must be an integer between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}.`)
  if (min !== undefined && v < min) throw configError(`'${key}' must be at least ${min}.`)
  return v
}

/** Applies defaults and validates a Faker configuration; throws a config error a user can act on. */
export function parseFakerConfig(config: Record<string, unknown>): FakerConfig {
  const count = integerField(config, 'count', 1000, 1)
  const seedValue = integerField(config, 'seed', -1, undefined)
  const recordsPerSlice = integerField(config, 'records_per_slice', 1000, 1)
  integerField(config, 'parallelism', 4, 1)
  const always = config.always_updated
  if (always !== undefined && always !== null && typeof always !== 'boolean') throw configError(`'always_updated' must be a boolean.`)
  return {
    count,
    seed: seedValue === -1 ? DEFAULT_FAKER_SEED : seedValue | 0,
    recordsPerSlice,
    alwaysUpdated: always ?? true,
  }
}
