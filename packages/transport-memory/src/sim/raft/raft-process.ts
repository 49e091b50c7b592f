import {
  type Entry,
  LaminarError,
  type Message,
  type RaftFaults,
  RawNode,
  type Ready,
  type StateRole,
} from '@laminar-ts/core'
import { Packr, unpack } from 'msgpackr'
import type { ProcessContext, ProcessFactory, SimProcess } from '../process'
import { digestBytes } from '../trace-hash'
import { PersistedRaftLog } from './persisted-raft-log'
import type { RaftLogBackend } from './raft-log-backend'
import { RaftPeerLinks } from './raft-peer-links'
import { SegmentedRaftLog } from './segmented-raft-log'

/**
 * Deliberately broken host behaviour, for the non-vacuity tests only:
 * - 'sendBeforePersist': send a Ready's messages before its entries and hard state are written;
 * - 'skipSync': write without fsync even when Raft says mustSync.
 */
export type RaftHostFault = 'sendBeforePersist' | 'skipSync'

export interface RaftProcessOptions {
  tickIntervalMs: number
  electionTicks: number
  heartbeatTicks: number
  /** A proposal not applied within this is failed with TIMEOUT. */
  proposalTimeoutMs: number
  /** Bound on proposals waiting to be applied; beyond it, BUFFER_FULL. */
  pendingProposalsMax: number
  /** Above this many bytes queued to one peer, frames are dropped (Raft retransmits). */
  peerBufferedBytesMax: number
  /** Wait this long before dialling a peer again after a failed connect. */
  reconnectDelayMs: number
  /**
   * Where the log lives: 'segmented' is core's SegmentedLog (the real commit log, checksums,
   * segments, recovery); 'simple' is a plain key-per-entry layout in this package.
   */
  logBackend: 'segmented' | 'simple'
  /** Raft flow control: bytes of entries per append message (small values split appends). */
  maxSizePerMsg: number
  /** Test-only broken Raft rules. */
  raftFaults?: RaftFaults
  /** Test-only broken host rule. */
  hostFault?: RaftHostFault
}

export const DEFAULT_RAFT_PROCESS_OPTIONS: Readonly<RaftProcessOptions> = Object.freeze({
  tickIntervalMs: 50,
  electionTicks: 10,
  heartbeatTicks: 2,
  proposalTimeoutMs: 1_000,
  pendingProposalsMax: 1_024,
  peerBufferedBytesMax: 4 * 1024 * 1024,
  reconnectDelayMs: 30,
  maxSizePerMsg: 1024 * 1024,
  logBackend: 'segmented',
})

/** A client's view of a successful proposal. */
export interface ProposalAck {
  index: number
  term: number
}

/** What a Raft process reports about itself. */
export interface RaftProcessStatus {
  id: string
  role: StateRole
  term: number
  leader: string
  commit: number
  applied: number
  lastIndex: number
}

interface PendingProposal {
  resolve: (ack: ProposalAck) => void
  reject: (error: unknown) => void
  timer: unknown
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()
/** Larger frames still pack correctly (msgpackr grows into a fresh buffer for them). */
const FRAME_SCRATCH_BYTES = 256 * 1024

/**
 * A Raft-only process for the simulator: one RawNode, its log on the node's (simulated)
 * storage, Raft messages as msgpackr frames over the transport, and a key-less state machine
 * (the list of applied entries). It follows the Ready contract: persist (synced when mustSync)
 * before sending, then apply, then advance.
 */
export class RaftProcess implements SimProcess {
  readonly id: string
  readonly #context: ProcessContext
  readonly #options: RaftProcessOptions
  #raft: RawNode | undefined
  #log: RaftLogBackend | undefined
  #alive = true
  #readyLoopRunning = false
  #role: StateRole = 'follower'
  #leader = ''
  #term = 0
  #commit = 0
  #applied = 0
  readonly #pending = new Map<string, PendingProposal>()
  #links: RaftPeerLinks | undefined
  #tickTimer: unknown

  constructor(context: ProcessContext, options: Partial<RaftProcessOptions> = {}) {
    this.id = context.id
    this.#context = context
    this.#options = { ...DEFAULT_RAFT_PROCESS_OPTIONS, ...options }
  }

  async start(): Promise<void> {
    const context = this.#context
    await context.storage.open()
    const voters = context.peers.map((peer) => peer.id)
    const log =
      this.#options.logBackend === 'simple'
        ? await PersistedRaftLog.load(context.storage, voters)
        : await SegmentedRaftLog.open(context.storage, voters, () => context.clock.now())
    if (!this.#alive) return
    this.#log = log
    const recovered = log.recoveredHardState
    this.#term = recovered.term
    this.#commit = recovered.commit
    if (context.incarnation > 1) {
      context.history.recordRaft({
        kind: 'recovered',
        atMs: context.clock.now(),
        node: this.id,
        incarnation: context.incarnation,
        term: recovered.term,
        vote: recovered.vote,
        commit: recovered.commit,
      })
    }
    this.#raft = new RawNode({
      id: this.id,
      electionTicks: this.#options.electionTicks,
      heartbeatTicks: this.#options.heartbeatTicks,
      storage: log.logStorage,
      random: () => context.random.next(),
      checkQuorum: true,
      preVote: true,
      maxSizePerMsg: this.#options.maxSizePerMsg,
      faults: this.#options.raftFaults,
    })
    const links = new RaftPeerLinks({
      selfId: this.id,
      peers: context.peers,
      transport: context.transport,
      clock: context.clock,
      peerBufferedBytesMax: this.#options.peerBufferedBytesMax,
      reconnectDelayMs: this.#options.reconnectDelayMs,
      onFrame: (frame) => this.#receive(frame),
    })
    this.#links = links
    await links.listen()
    if (!this.#alive) return
    this.#scheduleTick()
    this.#kick()
  }

  async stop(): Promise<void> {
    this.#shutdown(new LaminarError('NODE_STOPPED', `${this.id} stopped`))
    await this.#context.storage.close()
  }

  /** The simulation crashed this process: stop everything without touching storage. */
  kill(): void {
    this.#shutdown(new LaminarError('NODE_STOPPED', `${this.id} crashed`))
  }

  /**
   * Propose `data` (a client command). Resolves once this node applied it; rejects with
   * NOT_LEADER, PROPOSAL_DROPPED, BUFFER_FULL, TIMEOUT or NODE_STOPPED.
   */
  propose(data: Uint8Array): Promise<ProposalAck> {
    const raft = this.#raft
    if (!this.#alive || raft === undefined) {
      return Promise.reject(new LaminarError('NODE_STOPPED', `${this.id} is not running`))
    }
    if (this.#role !== 'leader') {
      return Promise.reject(
        new LaminarError('NOT_LEADER', `${this.id} is not the leader`, {
          leaderHint: this.#leader || undefined,
        }),
      )
    }
    if (this.#pending.size >= this.#options.pendingProposalsMax) {
      return Promise.reject(new LaminarError('BUFFER_FULL', 'too many proposals in flight'))
    }
    const key = textDecoder.decode(data)
    if (this.#pending.has(key)) {
      return Promise.reject(new LaminarError('INVALID_ARGUMENT', 'this command is already in flight'))
    }
    try {
      raft.propose(data)
    } catch (error) {
      return Promise.reject(
        new LaminarError('PROPOSAL_DROPPED', 'raft dropped the proposal', { cause: error }),
      )
    }
    const promise = new Promise<ProposalAck>((resolve, reject) => {
      const timer = this.#context.clock.setTimer(() => {
        this.#pending.delete(key)
        reject(new LaminarError('TIMEOUT', 'proposal not applied in time'))
      }, this.#options.proposalTimeoutMs)
      this.#pending.set(key, { resolve, reject, timer })
    })
    this.#kick()
    return promise
  }

  /** Convenience for clients: propose a UTF-8 string. */
  proposeText(text: string): Promise<ProposalAck> {
    return this.propose(textEncoder.encode(text))
  }

  status(): RaftProcessStatus {
    return {
      id: this.id,
      role: this.#role,
      term: this.#term,
      leader: this.#leader,
      commit: this.#commit,
      applied: this.#applied,
      lastIndex: this.#log?.lastIndex() ?? 0,
    }
  }

  get alive(): boolean {
    return this.#alive
  }

  /** The persisted log as (term, digest) per index, for log-matching checks. */
  logSnapshot(): Array<{ term: number; digest: string }> | undefined {
    return this.#log === undefined ? [] : this.#log.snapshotForChecks()
  }

  #shutdown(error: LaminarError): void {
    if (!this.#alive) return
    this.#alive = false
    if (this.#tickTimer !== undefined) this.#context.clock.clearTimer(this.#tickTimer)
    for (const pending of this.#pending.values()) {
      this.#context.clock.clearTimer(pending.timer)
      pending.reject(error)
    }
    this.#pending.clear()
    this.#links?.close()
  }

  #scheduleTick(): void {
    this.#tickTimer = this.#context.clock.setTimer(() => {
      if (!this.#alive) return
      this.#raft!.tick()
      this.#kick()
      this.#scheduleTick()
    }, this.#options.tickIntervalMs)
  }

  #receive(frame: Uint8Array): void {
    const raft = this.#raft
    if (!this.#alive || raft === undefined) return
    const messages = unpack(frame) as Message[]
    for (const message of messages) {
      try {
        raft.step(message)
      } catch (error) {
        // A message Raft refuses (stale, or for a removed peer) is dropped, as on a real network.
        this.#context.trace(`${this.id} step refused ${message.type}: ${(error as Error).name}`)
      }
    }
    this.#kick()
  }

  #kick(): void {
    if (this.#readyLoopRunning || !this.#alive) return
    this.#readyLoopRunning = true
    this.#readyLoop().then(
      () => {
        this.#readyLoopRunning = false
        // Work that arrived during the last await.
        if (this.#alive && this.#raft?.hasReady()) this.#kick()
      },
      (error: unknown) => {
        this.#readyLoopRunning = false
        if (!this.#alive) return
        this.#context.history.recordError({
          atMs: this.#context.clock.now(),
          node: this.id,
          message: `ready loop failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        })
        this.kill()
      },
    )
  }

  async #readyLoop(): Promise<void> {
    const raft = this.#raft!
    const log = this.#log!
    const hostFault = this.#options.hostFault
    while (this.#alive && raft.hasReady()) {
      const ready = raft.ready()
      if (hostFault === 'sendBeforePersist') this.#send(ready.messages)
      const sync = ready.mustSync && hostFault !== 'skipSync'
      await log.persist(ready, sync)
      if (!this.#alive) return
      this.#observe(ready, sync)
      if (hostFault !== 'sendBeforePersist') this.#send(ready.messages)
      this.#apply(ready.committedEntries)
      raft.advance()
    }
  }

  /** Record what the persisted Ready changed: role, leadership, hard state. */
  #observe(ready: Ready, synced: boolean): void {
    const context = this.#context
    const atMs = context.clock.now()
    if (ready.hardState !== undefined) {
      this.#term = ready.hardState.term
      this.#commit = ready.hardState.commit
      context.history.recordRaft({
        kind: 'hardState',
        atMs,
        node: this.id,
        incarnation: context.incarnation,
        term: ready.hardState.term,
        vote: ready.hardState.vote,
        commit: ready.hardState.commit,
        synced,
      })
    }
    if (ready.softState !== undefined) {
      const wasLeader = this.#role === 'leader'
      this.#role = ready.softState.role
      this.#leader = ready.softState.leader
      if (this.#role === 'leader' && !wasLeader) {
        context.trace(`${this.id} leader t${this.#term}`)
        context.history.recordRaft({
          kind: 'leader',
          atMs,
          node: this.id,
          term: this.#term,
          logTerms: this.#log!.terms(),
        })
      }
      if (wasLeader && this.#role !== 'leader') this.#failPending('NOT_LEADER', 'leadership lost')
    }
  }

  #failPending(code: 'NOT_LEADER', message: string): void {
    for (const pending of this.#pending.values()) {
      this.#context.clock.clearTimer(pending.timer)
      pending.reject(new LaminarError(code, message, { leaderHint: this.#leader || undefined }))
    }
    this.#pending.clear()
  }

  #apply(entries: readonly Entry[]): void {
    const context = this.#context
    for (const entry of entries) {
      const digest = digestBytes(entry.data)
      const atMs = context.clock.now()
      context.history.recordRaft({
        kind: 'apply',
        atMs,
        node: this.id,
        incarnation: context.incarnation,
        index: entry.index,
        term: entry.term,
        digest,
        nodeTerm: this.#term,
        electableWithout: context.electableWithout(entry.index, entry.term),
      })
      this.#applied = entry.index
      if (entry.type !== 'normal' || entry.data.byteLength === 0) continue
      const key = textDecoder.decode(entry.data)
      const pending = this.#pending.get(key)
      if (pending === undefined) continue
      this.#pending.delete(key)
      context.clock.clearTimer(pending.timer)
      context.history.recordRaft({
        kind: 'ack',
        atMs,
        node: this.id,
        index: entry.index,
        term: entry.term,
        digest,
        durableReplicas: context.durableReplicas(entry.index, entry.term),
        clusterSize: context.peers.length,
      })
      pending.resolve({ index: entry.index, term: entry.term })
    }
  }

  #send(messages: readonly Message[]): void {
    if (messages.length === 0) return
    const byPeer = new Map<string, Message[]>()
    for (const message of messages) {
      if (message.type === 'voteResp' && !message.reject) {
        this.#context.history.recordRaft({
          kind: 'vote',
          atMs: this.#context.clock.now(),
          node: this.id,
          term: message.term,
          candidate: message.to,
        })
      }
      let list = byPeer.get(message.to)
      if (list === undefined) byPeer.set(message.to, (list = []))
      list.push(message)
    }
    for (const [peer, list] of byPeer) {
      // The simulation hashes every frame sent into its trace: no separate trace line needed.
      const frame = packFrame(list)
      if (this.#links?.send(peer, frame) !== true) this.#raft!.reportUnreachable(peer)
    }
  }
}

/** The same encoding as msgpackr's default `pack` (no records). */
const framePackr = new Packr({ useRecords: false })
/** Scratch space every frame is packed into: the network copies a frame when it is sent. */
const frameScratch = Buffer.allocUnsafeSlow(FRAME_SCRATCH_BYTES)

/**
 * Pack `messages` into the shared scratch buffer instead of msgpackr's own (which hands out
 * a fresh 8 KiB buffer every few frames: allocation and GC were a top simulator cost). The
 * frame is valid until the next call: send it (the transport copies it) and drop it.
 */
function packFrame(messages: readonly Message[]): Uint8Array {
  framePackr.useBuffer(frameScratch)
  return framePackr.pack(messages)
}

/** A factory for {@link RaftProcess}es with the given options. */
export function raftProcessFactory(options: Partial<RaftProcessOptions> = {}): ProcessFactory<RaftProcess> {
  return (context) => new RaftProcess(context, options)
}
