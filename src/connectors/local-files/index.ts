import type { DestinationDefinition } from '../../protocol/index.js'
import { LocalFilesDestination } from './local-files-destination.js'

export { LocalFilesDestination, resolveDestinationDir } from './local-files-destination.js'
export { type LocalFilesConfig, localFilesSpec } from './local-files-spec.js'

/** sluice's own Local Files destination (not an Airbyte connector, so its own fixed id). */
export const localFilesDefinition: DestinationDefinition = {
  kind: 'destination',
  definitionId: '862a88fc-f263-4a45-aed8-2a53987631c1',
  name: 'Local Files',
  dockerRepository: 'sluice/destination-local-files',
  dockerImageTag: '0.1.0',
  documentationUrl: 'https://github.com/sluice-elt/sluice/blob/main/docs/connectors/local-files.md',
  releaseStage: 'alpha',
  supportLevel: 'community',
  destination: new LocalFilesDestination(),
}
