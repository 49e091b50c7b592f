export type {
  AckCommand,
  AppendCommand,
  AppendResult,
  ClusterMember,
  CommitOffsetCommand,
  CommitOffsetResult,
  ControllerCommand,
  ControllerOkResult,
  ControllerResult,
  CreateTopicCommand,
  DeadLetteredCommand,
  DeleteTopicCommand,
  DeliveredCommand,
  ErrorResult,
  GroupConfig,
  GroupConfigCommand,
  GroupCreateCommand,
  GroupDeleteCommand,
  GroupDeleteResult,
  GroupResult,
  JoinCommand,
  LaminarRecord,
  LeaveCommand,
  PartitionAssignment,
  PartitionCommand,
  PartitionResult,
  ReassignPartitionCommand,
  StartPosition,
  TopicConfig,
  TopicMetadata,
} from './commands'
export {
  ACK_OFFSETS_MAX,
  ACK_WINDOW_MAX,
  APPEND_RECORDS_MAX,
  CLUSTER_MEMBERS_MAX,
  DEFAULT_GROUP_CONFIG,
  DEFAULT_TOPIC_CONFIG,
  GROUPS_MAX,
  NAME_PATTERN,
  PRODUCERS_MAX,
  TOPIC_PARTITIONS_MAX,
  TOPICS_MAX,
} from './commands'
export type { HostedPartition } from './controller-state-machine'
export { ControllerStateMachine } from './controller-state-machine'
export type { DeadLetterSource } from './dead-letter'
export { DEAD_LETTER_HEADERS, deadLetterRecord } from './dead-letter'
export type {
  DeadLetter,
  DeadLetterReason,
  Dispatch,
  DispatcherMemberStatus,
  DispatcherOptions,
  DispatcherStatus,
} from './dispatcher'
export {
  DISPATCHER_MAX_IN_FLIGHT_MAX_DEFAULT,
  DISPATCHER_MEMBERS_MAX_DEFAULT,
  Dispatcher,
} from './dispatcher'
export { ACK_WAIT_MS_MAX, MAX_DELIVERIES_MAX } from './group-config'
export type { OffsetLocation } from './offset-index'
export type { GroupState, GroupSummary, PartitionStateMachineOptions } from './partition-state-machine'
export { PartitionStateMachine } from './partition-state-machine'
export { epochOfReplica, nodeOfReplica, replicaIdOf } from './replica-ids'
export { MAX_MESSAGE_BYTES_MAX, SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN } from './topic-config'
