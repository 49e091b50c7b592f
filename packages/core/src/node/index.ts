export type { GroupStatus, NodeState, NodeStatus } from './laminar-node'
export { LaminarNode } from './laminar-node'
export type { LaminarNodeConfig, NodeTuning, PeerConfig } from './node-options'
export { DEFAULT_NODE_TUNING } from './node-options'
export type {
  ClientRequest,
  ClusterDescription,
  ClusterMetadata,
  Delivery,
  FetchResult,
  GroupOptions,
  GroupPartitionDescription,
  JoinResult,
  PartitionMetadata,
  ProduceResult,
  ReadResult,
  StoredRecord,
  TopicDescription,
  WireRecord,
} from './protocol'
export { FRAME_BYTES_MAX_DEFAULT, PROTOCOL_VERSION } from './protocol'
