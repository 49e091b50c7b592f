/**
 * Raft's data model, after etcd-io/raft's raftpb, in TypeScript terms:
 * string node ids, number terms and indexes, Uint8Array data.
 * Nothing in raft/ imports anything outside raft/.
 */

export type NodeId = string

/** The empty node id: "no vote", "no leader". */
export const NONE: NodeId = ''

export type EntryType = 'normal' | 'confChange'

export interface Entry {
  term: number
  index: number
  type: EntryType
  /** For 'normal': opaque application bytes (empty for a leader's no-op). For 'confChange': an encoded ConfChange. */
  data: Uint8Array
}

export interface HardState {
  term: number
  vote: NodeId
  commit: number
}

export type StateRole = 'follower' | 'candidate' | 'preCandidate' | 'leader'

export interface SoftState {
  leader: NodeId
  role: StateRole
}

/** Voters and learners. `votersOutgoing` is non-empty only in a joint configuration. */
export interface ConfState {
  voters: NodeId[]
  votersOutgoing: NodeId[]
  learners: NodeId[]
  /** Learners to promote when leaving the joint configuration (etcd's LearnersNext). */
  learnersNext: NodeId[]
  /** Leave the joint configuration automatically once it commits. */
  autoLeave: boolean
}

export interface SnapshotMetadata {
  index: number
  term: number
  confState: ConfState
}

export interface Snapshot {
  metadata: SnapshotMetadata
  data: Uint8Array
}

export type ConfChangeType = 'addNode' | 'addLearner' | 'removeNode'

export interface ConfChangeSingle {
  type: ConfChangeType
  nodeId: NodeId
}

/**
 * A membership change. One single change with transition 'auto' is a simple change;
 * several changes (or transition 'explicit'/'implicit') go through joint consensus.
 * An empty `changes` list proposes leaving the joint configuration.
 */
export interface ConfChange {
  transition: 'auto' | 'implicit' | 'explicit'
  changes: ConfChangeSingle[]
  context?: Uint8Array
}

export type MessageType =
  | 'hup' // local: start an election
  | 'beat' // local: leader sends heartbeats
  | 'prop' // proposal (local, or forwarded from a follower)
  | 'app'
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'snap'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'unreachable' // local
  | 'snapStatus' // local
  | 'checkQuorum' // local
  | 'transferLeader'
  | 'timeoutNow'
  | 'readIndex'
  | 'readIndexResp'

export interface Message {
  type: MessageType
  to: NodeId
  from: NodeId
  term: number
  /** Log term of the entry at `index` (append), or of the candidate's last entry (vote). */
  logTerm: number
  index: number
  entries: Entry[]
  commit: number
  snapshot?: Snapshot
  reject: boolean
  rejectHint: number
  /** ReadIndex / heartbeat context. */
  context?: Uint8Array
}

export interface ReadState {
  index: number
  requestCtx: Uint8Array
}

/**
 * What the host must do next. Order: persist `hardState`, `entries`, `snapshot`
 * (durably when `mustSync`), then send `messages`, apply `committedEntries`, call `advance()`.
 */
export interface Ready {
  softState?: SoftState
  hardState?: HardState
  readStates: ReadState[]
  entries: Entry[]
  snapshot?: Snapshot
  committedEntries: Entry[]
  messages: Message[]
  mustSync: boolean
}

/**
 * The read-only view of stable storage the Raft node consults. The host appends to it
 * after persisting a Ready. Errors: throw RaftLogError('compacted') for an index below
 * firstIndex, RaftLogError('unavailable') above lastIndex.
 */
export interface LogStorage {
  initialState(): { hardState: HardState; confState: ConfState }
  /** Entries in [lo, hi), at most `maxBytes` of data (but always at least one entry). */
  entries(lo: number, hi: number, maxBytes: number): Entry[]
  term(index: number): number
  lastIndex(): number
  firstIndex(): number
  snapshot(): Snapshot
}

/**
 * compacted: below firstIndex. unavailable: above lastIndex. temporarilyUnavailable: the entries
 * exist but are not in memory yet (the host is loading them asynchronously); raft skips this send
 * and retries later. snapshotTemporarilyUnavailable: the host cannot produce a snapshot yet.
 */
export type RaftLogErrorKind =
  | 'compacted'
  | 'unavailable'
  | 'temporarilyUnavailable'
  | 'snapshotTemporarilyUnavailable'

export class RaftLogError extends Error {
  readonly kind: RaftLogErrorKind
  constructor(kind: RaftLogErrorKind, message?: string) {
    super(message ?? `raft log: ${kind}`)
    this.name = 'RaftLogError'
    this.kind = kind
  }
}

export interface RaftConfig {
  id: NodeId
  /** Ticks a follower waits before campaigning; randomized in [electionTicks, 2*electionTicks). */
  electionTicks: number
  heartbeatTicks: number
  storage: LogStorage
  /** Injected randomness in [0, 1): no Math.random inside raft. */
  random: () => number
  /** Last applied index when restarting; 0 on a fresh node. */
  applied?: number
  maxSizePerMsg?: number
  maxInflightMsgs?: number
  /** Bound on uncommitted entry bytes at the leader; proposals beyond it are dropped. */
  maxUncommittedEntriesSize?: number
  /** Maximum bytes of committed entries handed out in one Ready. */
  maxCommittedSizePerReady?: number
  checkQuorum?: boolean
  preVote?: boolean
  disableProposalForwarding?: boolean
  /** For tests only; see raft/testing-hooks.ts. */
  faults?: RaftFaults
}

/**
 * Deliberately broken rules, used only by tests to prove the checkers are not vacuous.
 * Production code never sets these.
 */
export interface RaftFaults {
  commitPreviousTermByCounting?: boolean
  forgetVote?: boolean
}

export interface ProgressStatus {
  match: number
  next: number
  state: 'probe' | 'replicate' | 'snapshot'
  recentActive: boolean
  isLearner: boolean
  inflight: number
}

export interface RaftStatus {
  id: NodeId
  role: StateRole
  term: number
  vote: NodeId
  leader: NodeId
  commit: number
  applied: number
  leadTransferee: NodeId
  config: ConfState
  progress: Record<NodeId, ProgressStatus>
}
