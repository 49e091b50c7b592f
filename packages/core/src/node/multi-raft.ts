import { nodeOfReplica } from '../broker/replica-ids'
import type { Clock, TimerHandle } from '../ports/clock'
import { RaftError } from '../raft/index'
import type { NodeId, Ready } from '../raft/types'
import type { PeerLinks } from './peer-links'
import type { RaftFrame } from './protocol'
import type { RaftGroup } from './raft-group'

/** Drive rounds run back to back before yielding to timers and I/O. */
const ROUNDS_PER_TURN_MAX = 32

function isEmptyReady(ready: Ready): boolean {
  return (
    ready.softState === undefined &&
    ready.hardState === undefined &&
    ready.snapshot === undefined &&
    ready.entries.length === 0 &&
    ready.committedEntries.length === 0 &&
    ready.messages.length === 0 &&
    ready.readStates.length === 0
  )
}

export interface MultiRaftOptions {
  nodeId: NodeId
  clock: Clock
  peers: PeerLinks
  tickIntervalMs: number
  /** Called once per tick after every group ticked (dispatcher deadlines, sessions...). */
  onTick: () => void
  /** Called after a round of Readies was applied, with the groups that applied entries. */
  onApplied: (groups: readonly RaftGroup[]) => void
  /** A persist failure: the node cannot go on safely. */
  onFatal: (error: unknown) => void
}

/**
 * Hosts many Raft groups on one node and drives them: one Clock timer ticks them all, and one
 * drive loop takes the Ready of every group that has one, persists them together (so a group
 * commit can fold them into one storage write and one sync), sends all their messages batched
 * per destination, applies committed entries, and advances.
 * Invariant: at most one drive round runs at a time; a request to drive during a round runs
 * another round right after it.
 */
export class MultiRaft {
  readonly #options: MultiRaftOptions
  readonly #groups = new Map<string, RaftGroup>()
  #timer: TimerHandle | undefined
  #driving = false
  #driveAgain = false
  #driveScheduled = false
  #stopped = false
  readonly #idleWaiters: Array<() => void> = []
  rounds = 0
  /**
   * Messages dropped because they were addressed to a replica id this node does not host: an
   * earlier incarnation of a replica placed here again (or one never hosted here).
   */
  messagesDroppedStale = 0

  constructor(options: MultiRaftOptions) {
    this.#options = options
  }

  get groups(): ReadonlyMap<string, RaftGroup> {
    return this.#groups
  }

  add(group: RaftGroup): void {
    this.#groups.set(group.groupId, group)
    group.onReadIssued = () => this.schedule()
    group.log.onEntriesLoaded?.(() => this.schedule())
    this.schedule()
  }

  remove(groupId: string): RaftGroup | undefined {
    const group = this.#groups.get(groupId)
    if (group === undefined) return undefined
    this.#groups.delete(groupId)
    group.stop()
    return group
  }

  startTicking(): void {
    const tick = (): void => {
      if (this.#stopped) return
      for (const group of this.#groups.values()) group.raft.tick()
      this.#options.onTick()
      this.schedule()
      this.#timer = this.#options.clock.setTimer(tick, this.#options.tickIntervalMs)
    }
    this.#timer = this.#options.clock.setTimer(tick, this.#options.tickIntervalMs)
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#options.clock.clearTimer(this.#timer)
    this.#timer = undefined
    for (const group of this.#groups.values()) group.stop()
  }

  /**
   * Steps every message of a peer frame into its group; unknown groups drop theirs (Raft retries).
   * A message addressed to another replica id than the group's here (an earlier incarnation) is
   * dropped and counted: a new incarnation must never take a vote request, an append or a
   * snapshot meant for one whose state it does not have.
   */
  receive(frame: RaftFrame): void {
    if (this.#stopped) return
    for (const [groupId, messages] of frame.groups) {
      const group = this.#groups.get(groupId)
      if (group === undefined) continue
      for (const message of messages) {
        if (message.to === group.replicaId) this.#step(group, message)
        else this.messagesDroppedStale++
      }
    }
    this.schedule()
  }

  #step(group: RaftGroup, message: Parameters<RaftGroup['raft']['step']>[0]): void {
    try {
      group.raft.step(message)
    } catch (error) {
      // A message Raft refuses (a local type from the wire, an unknown peer) is dropped.
      if (!(error instanceof RaftError)) throw error
    }
  }

  /** Runs a drive round soon (after the current synchronous work, so proposals batch up). */
  schedule(): void {
    if (this.#stopped) return
    if (this.#driving) {
      this.#driveAgain = true
      return
    }
    if (this.#driveScheduled) return
    this.#driveScheduled = true
    queueMicrotask(() => {
      this.#driveScheduled = false
      void this.#drive()
    })
  }

  /** Resolves once no drive round is running or scheduled. */
  idle(): Promise<void> {
    if (!this.#driving && !this.#driveScheduled) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  async #drive(): Promise<void> {
    if (this.#driving || this.#stopped) return
    this.#driving = true
    let yielded = false
    try {
      for (let rounds = 1; ; rounds++) {
        this.#driveAgain = false
        const round: Array<[RaftGroup, Ready]> = []
        let work = false
        for (const group of this.#groups.values()) {
          if (group.stopped || !group.raft.hasReady()) continue
          const ready = group.raft.ready()
          round.push([group, ready])
          if (!work && !isEmptyReady(ready)) work = true
        }
        if (round.length === 0) break
        this.rounds++
        await this.#runRound(round)
        if (this.#stopped) break
        // Raft had nothing to hand out (e.g. entries still loading from storage): stop here;
        // the log's load callback, a message or the next tick drives again. Looping would spin.
        if (!work) break
        if (rounds >= ROUNDS_PER_TURN_MAX) {
          // Let timers and I/O run: a busy node must not starve its own transport and clock.
          yielded = true
          this.#options.clock.setTimer(() => this.schedule(), 0)
          break
        }
      }
    } catch (error) {
      this.#options.onFatal(error)
    } finally {
      this.#driving = false
      if (this.#driveAgain && !this.#stopped && !yielded) this.schedule()
      else if (!yielded) {
        const waiters = this.#idleWaiters.splice(0)
        for (const resolve of waiters) resolve()
      }
    }
  }

  async #runRound(round: Array<[RaftGroup, Ready]>): Promise<void> {
    // 1. Persist everything first: a vote or an append must be durable before a message says so.
    const pending: Promise<void>[] = []
    for (const [group, ready] of round) {
      const result = group.log.persist(ready)
      if (result !== undefined) pending.push(result)
    }
    if (pending.length > 0) await Promise.all(pending)
    // 2. Send: all groups' messages for one peer leave in one frame.
    const peers = this.#options.peers
    for (const [group, ready] of round) {
      for (const message of ready.messages) peers.enqueue(group.groupId, message)
    }
    peers.flush()
    // 3. Apply and advance.
    const applied: RaftGroup[] = []
    for (const [group, ready] of round) {
      if (group.stopped) continue
      group.observeSoftState(ready.softState)
      if (ready.snapshot !== undefined) group.applySnapshot(ready.snapshot)
      if (ready.committedEntries.length > 0) {
        group.applyEntries(ready.committedEntries)
        applied.push(group)
      }
      if (ready.readStates.length > 0) group.onReadStates(ready.readStates)
      group.raft.advance()
    }
    this.#options.onApplied(applied)
  }

  /** Tells a group's Raft that a peer node (every replica of the group on it) missed messages. */
  reportUnreachable(peer: NodeId, groupIds: ReadonlySet<string>): void {
    for (const groupId of groupIds) {
      const group = this.#groups.get(groupId)
      if (group === undefined || group.stopped || !group.isLeader) continue
      for (const replicaId of Object.keys(group.raft.status().progress)) {
        if (nodeOfReplica(replicaId) !== peer) continue
        try {
          group.raft.reportUnreachable(replicaId)
        } catch {
          // Unknown peer (a configuration change raced): nothing to report.
        }
      }
    }
  }
}
