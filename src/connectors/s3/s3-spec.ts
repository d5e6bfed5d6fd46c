import { FORMAT_SPEC } from '../../formats/index.js'
import type { ConnectorSpecification } from '../../protocol/index.js'

/** S3 destination configuration, in Airbyte's keys (after spec validation). */
export interface S3Config {
  s3_bucket_name: string
  s3_bucket_path: string
  s3_bucket_region?: string
  access_key_id?: string
  secret_access_key?: string
  s3_endpoint?: string
  s3_path_format?: string
  file_name_pattern?: string
  format: Record<string, unknown>
}

export const s3Spec: ConnectorSpecification = {
  documentationUrl: 'https://docs.airbyte.com/integrations/destinations/s3',
  supportedDestinationSyncModes: ['overwrite', 'append'],
  supportsIncremental: true,
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'S3 Destination Spec',
    type: 'object',
    required: ['s3_bucket_name', 's3_bucket_path', 's3_bucket_region', 'format'],
    additionalProperties: true,
    properties: {
      access_key_id: {
        type: 'string',
        title: 'S3 Key ID',
        description: 'Access key id of a user with write access to the bucket. Empty: the default AWS credential chain.',
        airbyte_secret: true,
        always_show: true,
        examples: ['A012345678910EXAMPLE'],
        order: 0,
      },
      secret_access_key: {
        type: 'string',
        title: 'S3 Access Key',
        description: 'The secret matching the access key id.',
        airbyte_secret: true,
        always_show: true,
        examples: ['a012345678910ABCDEFGH/AbCdEfGhEXAMPLEKEY'],
        order: 1,
      },
      s3_bucket_name: { type: 'string', title: 'S3 Bucket Name', examples: ['airbyte_sync'], order: 3 },
      s3_bucket_path: {
        type: 'string',
        title: 'S3 Bucket Path',
        description: 'Directory under the bucket where data is written.',
        examples: ['data_sync/test'],
        order: 4,
      },
      s3_bucket_region: {
        type: 'string',
        title: 'S3 Bucket Region',
        description: 'Region of the bucket; empty means us-east-1.',
        default: '',
        examples: ['us-east-1'],
        order: 5,
      },
      format: { ...FORMAT_SPEC, order: 6 },
      s3_endpoint: {
        type: 'string',
        title: 'Endpoint',
        description: 'Endpoint of an S3-compatible service (MinIO...). Empty: AWS S3. A custom endpoint uses path-style addressing.',
        default: '',
        examples: ['http://localhost:9000'],
        order: 7,
      },
      s3_path_format: {
        type: 'string',
        title: 'S3 Path Format',
        description:
          'Object key pattern under the bucket path: ${NAMESPACE}, ${STREAM_NAME}, ${YEAR}, ${MONTH}, ${DAY}, ${HOUR}, ${MINUTE}, ${SECOND}, ${MILLISECOND}, ${EPOCH}, ${UUID}.',
        examples: ['${NAMESPACE}/${STREAM_NAME}/${YEAR}_${MONTH}_${DAY}_${EPOCH}_'],
        order: 8,
      },
      file_name_pattern: {
        type: 'string',
        title: 'File Name Pattern',
        description: 'File name with {date}, {date:yyyy_MM}, {timestamp}, {part_number}, {sync_id}, {format_extension}.',
        examples: ['{date}', '{date:yyyy_MM}', '{timestamp}', '{part_number}', '{sync_id}'],
        order: 9,
      },
    },
  },
}
