import { LaminarError } from '../errors/laminar-error'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import type { Storage } from '../ports/storage'
import type { Transport } from '../ports/transport'
import type { NodeId } from '../raft/types'
import { FRAME_BYTES_MAX_DEFAULT } from './protocol'

/** One node of the cluster as every node is configured with it. */
export interface PeerConfig {
  id: NodeId
  /** Where the node listens, for peers and clients alike (they are told apart by the handshake). */
  address: string
}

/** Tuning knobs; every one has a default and a bound. */
export interface NodeTuning {
  /** One Raft tick every this many ms, for every group hosted by the node. */
  tickIntervalMs: number
  electionTicks: number
  heartbeatTicks: number
  /** Controller voters: the first 5 nodes when there are 5 or more, else the first 3 (or all). */
  controllerVotersMax: number
  /** Authentication placeholder: peers and clients must present this token when set. */
  token: string
  frameBytesMax: number
  /** Requests in flight per client connection; more are answered BUFFER_FULL. */
  requestsInFlightPerConnectionMax: number
  /** Proposals waiting for commit per group; more are answered BUFFER_FULL. */
  pendingProposalsPerGroupMax: number
  /** A request not answered within this is failed with TIMEOUT (the client may retry). */
  requestTimeoutMs: number
  /** A consumer member that has not fetched for this long is considered lost. */
  memberSessionTimeoutMs: number
  /** Raft: max bytes of entries per append message. */
  maxSizePerMsg: number
  maxInflightMsgs: number
  /** Above this many bytes queued to a peer, Raft frames are dropped and retransmitted later. */
  peerBufferedBytesMax: number
  reconnectDelayMs: number
  /** Bound on records returned by one read request. */
  readMessagesMax: number
  readBytesMax: number
  /**
   * Raft entries each group keeps in memory once applied (the rest is read back from storage on
   * demand). Entries not applied yet stay cached beyond it (up to the log's retained bound, 64 MiB),
   * so this bounds the history kept, not a busy group's pipeline.
   */
  entryCacheBytesPerGroupMax: number
  /** Recent records each partition keeps decoded for consumers at the head of the log. */
  recentRecordsBytesPerPartitionMax: number
  /** How often partitions check their retention limits. */
  retentionCheckIntervalMs: number
}

export const DEFAULT_NODE_TUNING: Readonly<NodeTuning> = Object.freeze({
  tickIntervalMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  controllerVotersMax: 5,
  token: '',
  frameBytesMax: FRAME_BYTES_MAX_DEFAULT,
  requestsInFlightPerConnectionMax: 4096,
  pendingProposalsPerGroupMax: 65_536,
  requestTimeoutMs: 10_000,
  memberSessionTimeoutMs: 10_000,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  peerBufferedBytesMax: 64 * 1024 * 1024,
  reconnectDelayMs: 200,
  readMessagesMax: 10_000,
  readBytesMax: 8 * 1024 * 1024,
  entryCacheBytesPerGroupMax: 4 * 1024 * 1024,
  recentRecordsBytesPerPartitionMax: 16 * 1024 * 1024,
  retentionCheckIntervalMs: 1_000,
})

export interface LaminarNodeConfig {
  id: NodeId
  /**
   * Every node of the cluster, this one included, in the same order on every node. A node
   * joining a running cluster (with `join`) may list only itself: it learns the others from the
   * controller.
   */
  peers: PeerConfig[]
  /**
   * Addresses of nodes already running (any one will do): on its first start this node asks the
   * cluster to admit it as a member; restarts find the answer in storage.
   */
  join?: string[]
  transport: Transport
  /** Opened by the node when not open yet; closed by `stop()`. */
  storage: Storage
  clock?: Clock
  random?: Random
  options?: Partial<NodeTuning>
}

/** Validates the configuration: a TypeError-like INVALID_ARGUMENT naming what is wrong. */
export function resolveTuning(config: LaminarNodeConfig): NodeTuning {
  if (typeof config.id !== 'string' || config.id.length === 0) {
    throw new LaminarError('INVALID_ARGUMENT', 'id must be a non-empty string')
  }
  if (!Array.isArray(config.peers) || !config.peers.some((p) => p.id === config.id)) {
    throw new LaminarError('INVALID_ARGUMENT', `peers must list every node, this one (${config.id}) included`)
  }
  if (
    config.join !== undefined &&
    (!Array.isArray(config.join) || config.join.some((a) => typeof a !== 'string'))
  ) {
    throw new LaminarError('INVALID_ARGUMENT', 'join must be a list of addresses')
  }
  const ids = new Set(config.peers.map((p) => p.id))
  if (ids.size !== config.peers.length) throw new LaminarError('INVALID_ARGUMENT', 'peers has duplicate ids')
  const tuning = { ...DEFAULT_NODE_TUNING, ...config.options }
  for (const [name, value] of Object.entries(tuning)) {
    if (name === 'token') continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new LaminarError('INVALID_ARGUMENT', `options.${name} must be a positive number`)
    }
  }
  if (tuning.electionTicks <= tuning.heartbeatTicks) {
    throw new LaminarError('INVALID_ARGUMENT', 'options.electionTicks must exceed options.heartbeatTicks')
  }
  return tuning
}

/** The controller's voters: the first 5 (or 3) nodes; the rest follow it as learners. */
export function controllerVoters(peers: readonly PeerConfig[], votersMax: number): NodeId[] {
  const count = peers.length >= 5 && votersMax >= 5 ? 5 : Math.min(peers.length, 3, votersMax)
  return peers.slice(0, count).map((p) => p.id)
}
