import { FORMAT_SPEC } from '../../formats/index.js'
import type { ConnectorSpecification } from '../../protocol/index.js'

/** Local Files configuration (after spec validation). */
export interface LocalFilesConfig {
  /** Relative to the server's local files root, or absolute inside it. */
  destination_path: string
  format?: Record<string, unknown>
  path_format?: string
  file_name_pattern?: string
}

export const localFilesSpec: ConnectorSpecification = {
  documentationUrl: 'https://github.com/sluice-elt/sluice/blob/main/docs/connectors/local-files.md',
  supportedDestinationSyncModes: ['overwrite', 'append'],
  supportsIncremental: true,
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Local Files Destination Spec',
    type: 'object',
    required: ['destination_path'],
    additionalProperties: true,
    properties: {
      destination_path: {
        type: 'string',
        title: 'Destination Path',
        description:
          "Directory for the files, relative to the server's local files root (or an absolute path inside it).",
        examples: ['bronze', '/data/sluice/bronze'],
        minLength: 1,
        order: 0,
      },
      format: { ...FORMAT_SPEC, order: 1, default: { format_type: 'Parquet', compression_codec: 'SNAPPY' } },
      path_format: {
        type: 'string',
        title: 'Path Format',
        description:
          'Sub-path of each stream, with ${NAMESPACE}, ${STREAM_NAME}, ${YEAR}, ${MONTH}, ${DAY}, ${HOUR}, ${MINUTE}, ${SECOND}, ${MILLISECOND}, ${EPOCH}, ${UUID}.',
        examples: ['${NAMESPACE}/${STREAM_NAME}/${YEAR}_${MONTH}_${DAY}_${EPOCH}_'],
        order: 2,
      },
      file_name_pattern: {
        type: 'string',
        title: 'File Name Pattern',
        description: 'File name with {date}, {date:yyyy_MM}, {timestamp}, {part_number}, {sync_id}, {format_extension}.',
        examples: ['{part_number}{format_extension}', '{date}_{timestamp}_{part_number}{format_extension}'],
        order: 3,
      },
    },
  },
}
