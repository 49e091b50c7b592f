/**
 * The Raft consensus core: a pure state machine after etcd-io/raft. See docs/raft.md.
 */
export { bootstrapConfState } from './bootstrap'
export { decodeConfChange, encodeConfChange } from './confchange-codec'
export type { RaftErrorKind } from './errors'
export { isRaftError, RaftError } from './errors'
export { MemoryLogStorage } from './memory-log-storage'
export { RawNode } from './raw-node'
export type {
  ConfChange,
  ConfChangeSingle,
  ConfChangeType,
  ConfState,
  Entry,
  EntryType,
  HardState,
  LogStorage,
  Message,
  MessageType,
  NodeId,
  ProgressStatus,
  RaftConfig,
  RaftFaults,
  RaftLogErrorKind,
  RaftStatus,
  ReadState,
  Ready,
  Snapshot,
  SnapshotMetadata,
  SoftState,
  StateRole,
} from './types'
export { NONE, RaftLogError } from './types'
