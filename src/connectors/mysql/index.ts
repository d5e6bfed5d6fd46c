import type { SourceDefinition } from '../../protocol/index.js'
import { MysqlSource } from './mysql-source.js'

export { MysqlSource } from './mysql-source.js'
export type { MysqlSourceOptions } from './mysql-stream-read.js'
export { validateSourceConfig as validateMysqlSourceConfig, type MysqlSourceConfig } from './mysql-config.js'
export { fromMysqlError } from './mysql-errors.js'

/** Airbyte's "MySQL" source definition (same id, so scripts that hard-code it keep working). */
export const mysqlSourceDefinition: SourceDefinition = {
  kind: 'source',
  definitionId: '435bb9a5-7887-4809-aa58-28c27df0d7ad',
  name: 'MySQL',
  dockerRepository: 'airbyte/source-mysql',
  dockerImageTag: '3.11.0',
  documentationUrl: 'https://docs.airbyte.com/integrations/sources/mysql',
  releaseStage: 'generally_available',
  supportLevel: 'certified',
  sourceType: 'database',
  source: new MysqlSource(),
}
