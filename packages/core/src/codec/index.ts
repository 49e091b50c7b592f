export {
  COMMAND_FORMAT_VERSION,
  decodeControllerCommand,
  decodePartitionCommand,
  encodeControllerCommand,
  encodePartitionCommand,
  peekCommandType,
} from './command-codec'
export { encodeRecords, RECORD_BATCH_FORMAT, RecordBatch } from './record-batch'
export type { SnapshotKind } from './snapshot-codec'
export { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT_VERSION } from './snapshot-codec'
