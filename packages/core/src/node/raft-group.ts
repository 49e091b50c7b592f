import { nodeOfReplica } from '../broker/replica-ids'
import { LaminarError } from '../errors/laminar-error'
import { reserveRecordHeadroom } from '../log/record-headroom'
import { RECORD_HEADER_BYTES } from '../log/records'
import { decodeConfChange, RaftError, RawNode } from '../raft/index'
import type {
  ConfChange,
  Entry,
  LogStorage,
  NodeId,
  RaftConfig,
  ReadState,
  Ready,
  Snapshot,
  SoftState,
} from '../raft/types'
import { decodeProposal, proposalHeaderBytes, writeProposalHeader } from './proposal-envelope'

/**
 * Where a group's Raft log lives. `persist` makes a Ready's hard state, entries and snapshot
 * durable (when `ready.mustSync`) before it resolves; a host hands every group ready at one
 * moment to its store at once so a group commit can fold them into one storage write.
 */
export interface GroupLogStore {
  readonly logStorage: LogStorage
  persist(ready: Ready): void | Promise<void>
  /** Committed entries in [lo, hi), at most about `maxBytes`, for readers (may load from storage). */
  readEntries(lo: number, hi: number, maxBytes: number): Promise<Entry[]>
  /** Entries are loaded asynchronously; `wake` is called when raft should retry. */
  onEntriesLoaded?(wake: () => void): void
  /** Everything up to `index` is applied: later entries are still to be handed out for apply. */
  onApplied?(index: number): void
  close?(): Promise<void>
}

/**
 * What a group applies. Deterministic: the same commands in the same order give the same
 * results on every replica. The result is handed to the proposer's waiting request.
 */
export interface GroupApplier {
  applyCommand(index: number, command: Uint8Array): unknown
  /** Replaces the state machine with a snapshot's (a lagging replica caught up by snapshot). */
  restoreSnapshot?(data: Uint8Array): void
  /** Called on this node only, after leadership is gained or lost. */
  onRoleChange?(isLeader: boolean, leader: NodeId): void
}

export interface RaftGroupOptions {
  groupId: string
  nodeId: NodeId
  /**
   * This replica's Raft id: a partition replica's id for this placement (`broker/replica-ids.ts`),
   * the node id for the controller group (the default).
   */
  replicaId?: string
  /** The node id already encoded for proposal headers. */
  nodeIdBytes: Uint8Array
  log: GroupLogStore
  applier: GroupApplier
  raft: Omit<RaftConfig, 'id' | 'storage'>
  /** Bound on proposals waiting for commit in this group; beyond it, BUFFER_FULL. */
  pendingProposalsMax: number
}

interface ReadWaiter {
  resolve: () => void
  reject: (error: unknown) => void
}

/** ReadIndex rounds in flight per group; reads beyond share rounds or get BUFFER_FULL. */
const READ_BATCHES_MAX = 1024

interface PendingProposal {
  resolve: (result: unknown) => void
  reject: (error: unknown) => void
}

/**
 * One Raft group hosted by a node: the RawNode, its log, its state machine, and the requests
 * waiting for their proposals to be applied.
 * Invariant: between `takeReady()` and `finishReady()` nobody calls `ready()` on the RawNode.
 */
export class RaftGroup {
  readonly groupId: string
  readonly nodeId: NodeId
  /** The Raft id of this replica; messages addressed to any other id are not its own. */
  readonly replicaId: string
  readonly raft: RawNode
  readonly log: GroupLogStore
  readonly applier: GroupApplier
  readonly #nodeIdBytes: Uint8Array
  /** The proposer name this node writes into proposal headers (node id + incarnation). */
  readonly #proposerName: string
  readonly #pending = new Map<number, PendingProposal>()
  readonly #pendingMax: number
  readonly #reads = new Map<string, ReadWaiter[]>()
  #readBatch: ReadWaiter[] | undefined
  #readWaiters: Array<ReadWaiter & { index: number }> = []
  #nextRead = 1
  #nextSequence = 1
  #leader: NodeId = ''
  #isLeader = false
  #appliedIndex = 0
  #stopped = false

  constructor(options: RaftGroupOptions) {
    this.groupId = options.groupId
    this.nodeId = options.nodeId
    this.replicaId = options.replicaId ?? options.nodeId
    this.log = options.log
    this.applier = options.applier
    this.#nodeIdBytes = options.nodeIdBytes
    this.#proposerName = new TextDecoder().decode(options.nodeIdBytes)
    this.#pendingMax = options.pendingProposalsMax
    this.raft = new RawNode({ ...options.raft, id: this.replicaId, storage: options.log.logStorage })
    this.#appliedIndex = options.raft.applied ?? 0
    this.#recoveredCommit = options.log.logStorage.initialState().hardState.commit
  }

  /** The commit index found in storage at start: below it, this replica is still replaying. */
  readonly #recoveredCommit: number

  /**
   * False while a restarted replica replays its log: its state lags what it acknowledged
   * before, so it should not answer reads yet.
   */
  get caughtUp(): boolean {
    return this.#appliedIndex >= this.#recoveredCommit
  }

  get isLeader(): boolean {
    return this.#isLeader
  }

  /** The node of the leader this replica last heard of (hints and status name nodes), or '' when unknown. */
  get leader(): NodeId {
    return this.#leader
  }

  get appliedIndex(): number {
    return this.#appliedIndex
  }

  get pendingProposals(): number {
    return this.#pending.size
  }

  /** NOT_LEADER carrying this group's leader hint. */
  notLeader(): LaminarError {
    return new LaminarError('NOT_LEADER', `node ${this.nodeId} does not lead ${this.groupId}`, {
      leaderHint: this.#leader === '' || this.#leader === this.nodeId ? undefined : this.#leader,
      details: { groupId: this.groupId },
    })
  }

  /**
   * Proposes a command and resolves with its apply result once it is committed and applied
   * on this node. Only the leader proposes: followers answer NOT_LEADER so the client goes to
   * the leader itself (one hop less than forwarding, and the ack comes from where it commits).
   */
  propose(command: Uint8Array): Promise<unknown> {
    return this.proposeEncoded((prefixBytes) => {
      const data = new Uint8Array(prefixBytes + command.length)
      data.set(command, prefixBytes)
      return data
    })
  }

  /**
   * Like {@link propose}, for a command encoded straight into the entry: `encode(prefixBytes)`
   * returns the command after `prefixBytes` bytes it leaves for the proposal header and the log
   * record header (written here and by the log), in bytes nothing else keeps or writes, so the
   * entry is built and stored with no copy of the command.
   */
  proposeEncoded(encode: (prefixBytes: number) => Uint8Array): Promise<unknown> {
    if (this.#stopped)
      return Promise.reject(new LaminarError('NODE_STOPPED', `group ${this.groupId} stopped`))
    if (!this.#isLeader) return Promise.reject(this.notLeader())
    if (this.#pending.size >= this.#pendingMax) {
      return Promise.reject(
        new LaminarError('BUFFER_FULL', `group ${this.groupId} has ${this.#pendingMax} proposals pending`, {
          details: { pendingProposalsMax: this.#pendingMax },
        }),
      )
    }
    const sequence = this.#nextSequence++
    // Room for the log record header before the entry: this node's log seals the entry there
    // instead of copying it (the encoders return fresh bytes that nothing else writes).
    const data = encode(RECORD_HEADER_BYTES + proposalHeaderBytes(this.#nodeIdBytes)).subarray(
      RECORD_HEADER_BYTES,
    )
    writeProposalHeader(data, this.#nodeIdBytes, sequence)
    reserveRecordHeadroom(data)
    try {
      this.raft.propose(data)
    } catch (error) {
      if (error instanceof RaftError) {
        return Promise.reject(
          new LaminarError('PROPOSAL_DROPPED', `proposal dropped by ${this.groupId}: ${error.message}`, {
            cause: error,
          }),
        )
      }
      return Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(sequence, { resolve, reject })
    })
  }

  /**
   * Proposes a membership change on the leader. Nothing waits for it: the caller watches the
   * configuration (`raft.status().config`) and tries again later if it was dropped. Throws
   * NOT_LEADER, or PROPOSAL_DROPPED when Raft cannot take it now (a change pending, a transfer).
   */
  proposeConfChange(change: ConfChange): void {
    if (this.#stopped) throw new LaminarError('NODE_STOPPED', `group ${this.groupId} stopped`)
    if (!this.#isLeader) throw this.notLeader()
    try {
      this.raft.proposeConfChange(change)
    } catch (error) {
      if (!(error instanceof RaftError)) throw error
      throw new LaminarError('PROPOSAL_DROPPED', `conf change dropped by ${this.groupId}: ${error.message}`, {
        cause: error,
      })
    }
  }

  /** Applies the soft state of a Ready: leadership changes fail what can no longer commit here. */
  observeSoftState(softState: SoftState | undefined): void {
    if (softState === undefined) return
    this.#leader = nodeOfReplica(softState.leader)
    const isLeader = softState.role === 'leader'
    if (isLeader === this.#isLeader) return
    this.#isLeader = isLeader
    if (!isLeader) this.failPending(this.notLeader())
    this.applier.onRoleChange?.(isLeader, this.#leader)
  }

  /**
   * Applies committed entries in order. Conf changes go to Raft; normal entries to the
   * applier; empty entries are a new leader's no-op.
   */
  applyEntries(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.index <= this.#appliedIndex) continue
      this.#appliedIndex = entry.index
      if (entry.type === 'confChange') {
        this.raft.applyConfChange(decodeConfChange(entry.data))
        continue
      }
      if (entry.data.length === 0) continue
      let header: { proposer: string; sequence: number }
      let command: Uint8Array
      try {
        ;({ header, command } = decodeProposal(entry.data))
      } catch {
        // A malformed entry is skipped identically on every replica.
        continue
      }
      let result: unknown
      let failure: unknown
      try {
        result = this.applier.applyCommand(entry.index, command)
      } catch (error) {
        failure = error
      }
      if (header.proposer !== this.#proposerName) continue
      const pending = this.#pending.get(header.sequence)
      if (pending === undefined) continue
      this.#pending.delete(header.sequence)
      if (failure !== undefined) pending.reject(failure)
      else pending.resolve(result)
    }
    this.log.onApplied?.(this.#appliedIndex)
    this.#releaseReadWaiters()
  }

  /** A snapshot from the leader replaced the log: the state machine jumps to it. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.metadata.index <= this.#appliedIndex) return
    this.applier.restoreSnapshot?.(snapshot.data)
    this.#appliedIndex = snapshot.metadata.index
    this.log.onApplied?.(this.#appliedIndex)
  }

  failPending(error: LaminarError): void {
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) p.reject(error)
    const reads = [...this.#reads.values()].flat()
    this.#reads.clear()
    const batch = this.#readBatch ?? []
    this.#readBatch = undefined
    for (const r of [...reads, ...batch]) r.reject(error)
    for (const w of this.#readWaiters.splice(0)) w.reject(error)
  }

  /**
   * Resolves once this leader has confirmed its leadership with a quorum (Raft's ReadIndex)
   * and applied everything committed when the read began: a read after it sees every write
   * acknowledged before it (linearizable), even right after an election or a partition.
   * Reads arriving together share one ReadIndex round.
   */
  readBarrier(): Promise<void> {
    if (this.#stopped)
      return Promise.reject(new LaminarError('NODE_STOPPED', `group ${this.groupId} stopped`))
    if (!this.#isLeader) return Promise.reject(this.notLeader())
    return new Promise((resolve, reject) => {
      if (this.#readBatch !== undefined) {
        this.#readBatch.push({ resolve, reject })
        return
      }
      if (this.#reads.size >= READ_BATCHES_MAX) {
        reject(
          new LaminarError(
            'BUFFER_FULL',
            `group ${this.groupId} has ${READ_BATCHES_MAX} read rounds pending`,
          ),
        )
        return
      }
      this.#readBatch = [{ resolve, reject }]
      queueMicrotask(() => this.#issueReadIndex())
    })
  }

  #issueReadIndex(): void {
    const batch = this.#readBatch
    this.#readBatch = undefined
    if (batch === undefined) return
    const key = `${this.#proposerName}/${this.#nextRead++}`
    try {
      this.raft.readIndex(new TextEncoder().encode(key))
    } catch (error) {
      const failure = error instanceof RaftError ? this.notLeader() : error
      for (const r of batch) r.reject(failure)
      return
    }
    this.#reads.set(key, batch)
    this.onReadIssued?.()
  }

  /** Called by the host after a ReadIndex was handed to Raft (so it drives the group). */
  onReadIssued: (() => void) | undefined

  /** Ready's read states: each read waits until the applied index reaches its index. */
  onReadStates(states: readonly ReadState[]): void {
    for (const state of states) {
      const key = new TextDecoder().decode(state.requestCtx)
      const batch = this.#reads.get(key)
      if (batch === undefined) continue
      this.#reads.delete(key)
      for (const r of batch) {
        if (this.#appliedIndex >= state.index) r.resolve()
        else this.#readWaiters.push({ index: state.index, ...r })
      }
    }
  }

  #releaseReadWaiters(): void {
    if (this.#readWaiters.length === 0) return
    const still: Array<ReadWaiter & { index: number }> = []
    for (const w of this.#readWaiters) {
      if (this.#appliedIndex >= w.index) w.resolve()
      else still.push(w)
    }
    this.#readWaiters = still
  }

  stop(): void {
    this.#stopped = true
    this.failPending(new LaminarError('NODE_STOPPED', `group ${this.groupId} stopped`))
  }

  get stopped(): boolean {
    return this.#stopped
  }
}
