import type { TopicMetadata } from '../broker/commands'
import { LaminarClient } from '../client/laminar-client'
import { LocalFirstChannel, TransportChannel } from '../client/node-channel'
import { LaminarError } from '../errors/laminar-error'
import { GroupCommit } from '../log/group-commit'
import { SegmentedLog } from '../log/segmented-log'
import { type Clock, systemClock } from '../ports/clock'
import { type Random, systemRandom } from '../ports/random'
import type { Storage } from '../ports/storage'
import type { Connection, Listener, Transport } from '../ports/transport'
import { bootstrapConfState } from '../raft/index'
import type { ConfState, NodeId } from '../raft/types'
import { CONTROLLER_GROUP_ID, ControllerHost, partitionGroupId } from './controller-host'
import { MultiRaft } from './multi-raft'
import {
  controllerVoters,
  type LaminarNodeConfig,
  type NodeTuning,
  type PeerConfig,
  resolveTuning,
} from './node-options'
import { NodeRequestHandler } from './node-request-handler'
import { sweepOrphanedLogs } from './orphaned-log-sweep'
import { PartitionHost } from './partition-host'
import { PeerLinks } from './peer-links'
import { encodeNodeId } from './proposal-envelope'
import { RaftGroup } from './raft-group'
import { SegmentedGroupLog } from './segmented-group-log'
import { ServerConnection } from './server-connection'

export type NodeState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

/** A group as `status()` reports it. */
export interface GroupStatus {
  groupId: string
  role: string
  leader: string
  term: number
  commit: number
  applied: number
}

export interface NodeStatus {
  id: NodeId
  state: NodeState
  controllerLeader: string | null
  groups: GroupStatus[]
  raftRounds: number
  peerFramesSent: number
  peerMessagesSent: number
  peerFramesDropped: number
}

/**
 * One laminar-ts node: hosts the controller group (as voter or learner) and the partition
 * groups placed on it, serves peers and clients on one address, and embeds a client.
 *
 * ```ts
 * const node = new LaminarNode({ id: 'n1', peers, transport, storage })
 * await node.start()
 * const client = node.client()
 * ```
 */
export class LaminarNode {
  readonly id: NodeId
  readonly peers: readonly PeerConfig[]
  readonly tuning: NodeTuning
  readonly clock: Clock
  readonly random: Random
  readonly transport: Transport
  readonly storage: Storage
  readonly #address: string
  #state: NodeState = 'created'
  #listener: Listener | undefined
  #multiRaft: MultiRaft | undefined
  #peerLinks: PeerLinks | undefined
  #controller: ControllerHost | undefined
  readonly #partitions = new Map<string, PartitionHost>()
  readonly #connections = new Set<ServerConnection>()
  #client: LaminarClient | undefined
  #handler: NodeRequestHandler | undefined
  #fatal: unknown
  #groupCommit: GroupCommit | undefined
  #ticks = 0
  #retentionRunning = false
  get #retentionEveryTicks(): number {
    return Math.max(1, Math.round(this.tuning.retentionCheckIntervalMs / this.tuning.tickIntervalMs))
  }
  /** Partition groups being opened (their logs load asynchronously). */
  readonly #opening = new Set<string>()
  readonly #logsDestroying = new Set<Promise<void>>()
  /** Whether the start-up sweep of orphaned partition logs has begun (it runs once per start). */
  #sweepStarted = false

  constructor(config: LaminarNodeConfig) {
    this.tuning = resolveTuning(config)
    this.id = config.id
    this.peers = config.peers.map((p) => ({ ...p }))
    this.transport = config.transport
    this.storage = config.storage
    this.clock = config.clock ?? systemClock
    this.random = config.random ?? systemRandom
    this.#address = this.peers.find((p) => p.id === this.id)!.address
  }

  get state(): NodeState {
    return this.#state
  }

  get address(): string {
    return this.#address
  }

  /** Opens storage, starts the controller group and listens for peers and clients. */
  async start(): Promise<void> {
    if (this.#state !== 'created')
      throw new LaminarError('INVALID_ARGUMENT', `node ${this.id} is ${this.#state}`)
    this.#state = 'starting'
    if (this.storage.status === 'opening') await this.storage.open()
    this.#groupCommit = new GroupCommit(this.storage)
    const peerLinks = new PeerLinks({
      selfId: this.id,
      peers: new Map(this.peers.map((p) => [p.id, p.address])),
      transport: this.transport,
      clock: this.clock,
      token: this.tuning.token,
      frameBytesTarget: Math.floor(this.tuning.frameBytesMax / 4),
      bufferedBytesMax: this.tuning.peerBufferedBytesMax,
      pendingFramesMax: 1024,
      reconnectDelayMs: this.tuning.reconnectDelayMs,
      onUnreachable: (peer, groupIds) => this.#multiRaft?.reportUnreachable(peer, groupIds),
    })
    this.#peerLinks = peerLinks
    const multiRaft = new MultiRaft({
      nodeId: this.id,
      clock: this.clock,
      peers: peerLinks,
      tickIntervalMs: this.tuning.tickIntervalMs,
      onTick: () => {
        for (const host of this.#partitions.values()) host.delivery.tick()
        if (++this.#ticks % this.#retentionEveryTicks === 0) void this.#applyRetention()
        if (!this.#sweepStarted && this.#controllerSettled()) {
          this.#sweepStarted = true
          this.#trackDestroy(this.#sweepOrphanedLogs())
        }
      },
      onApplied: () => {},
      onFatal: (error) => {
        this.#fatal = error
      },
    })
    this.#multiRaft = multiRaft
    const controller = new ControllerHost(this.peers)
    this.#controller = controller
    this.#handler = new NodeRequestHandler(this, controller, this.#partitions)
    const voters = controllerVoters(this.peers, this.tuning.controllerVotersMax)
    const learners = this.peers.map((p) => p.id).filter((id) => !voters.includes(id))
    const group = await this.#openGroup(
      CONTROLLER_GROUP_ID,
      controller,
      bootstrapConfState(voters, learners),
      {},
    )
    controller.attach(group)
    controller.onChange = () => this.#reconcile()
    multiRaft.add(group)
    this.#listener = await this.transport.listen(this.#address, (connection) => this.#accept(connection))
    multiRaft.startTicking()
    // A fresh cluster elects without waiting for a timeout.
    if (voters[0] === this.id && group.raft.status().term === 0) group.raft.campaign()
    this.#state = 'running'
  }

  /** Opens a group's log (recovering it from storage) and builds its Raft node on it. */
  async #openGroup(
    groupId: string,
    applier: ControllerHost | PartitionHost,
    bootstrap: ConfState,
    logOptions: { segmentBytesMax?: number; retentionBytesMax?: number; retentionAgeMsMax?: number },
  ): Promise<RaftGroup> {
    const log = await SegmentedLog.open(this.storage, groupId, {
      entryCacheBytesMax: this.tuning.entryCacheBytesPerGroupMax,
      ...logOptions,
    })
    // A log that retention compacted starts at its snapshot: restore the state machine from it
    // and let Raft hand out only the entries after it.
    const snapshot = log.snapshot()
    const applied = snapshot.metadata.index
    if (applied > 0) applier.restoreSnapshot?.(snapshot.data)
    return new RaftGroup({
      groupId,
      nodeId: this.id,
      nodeIdBytes: this.#nodeIdBytes(),
      log: new SegmentedGroupLog(log, this.#groupCommit!, this.clock, bootstrap),
      applier,
      pendingProposalsMax: this.tuning.pendingProposalsPerGroupMax,
      raft: {
        electionTicks: this.tuning.electionTicks,
        heartbeatTicks: this.tuning.heartbeatTicks,
        random: () => this.random.next(),
        maxSizePerMsg: this.tuning.maxSizePerMsg,
        maxInflightMsgs: this.tuning.maxInflightMsgs,
        checkQuorum: true,
        preVote: true,
        applied,
      },
    })
  }

  #incarnationBytes: Uint8Array | undefined
  /**
   * The proposer name in proposal headers: the node id plus a fresh incarnation per start, so
   * entries proposed by an earlier run can never be taken for requests of this run on replay.
   */
  #nodeIdBytes(): Uint8Array {
    if (this.#incarnationBytes === undefined) {
      const incarnation = Math.floor(this.random.next() * 0x1_0000_0000).toString(36)
      this.#incarnationBytes = encodeNodeId(`${this.id}#${incarnation}`)
    }
    return this.#incarnationBytes
  }

  /** The partition group ids the controller's placement, as applied here, assigns to this node. */
  #placedGroupIds(): Set<string> {
    const placed = new Set<string>()
    for (const topic of this.#controller?.topics() ?? []) {
      for (const assignment of topic.partitions) {
        if (assignment.replicas.includes(this.id))
          placed.add(partitionGroupId(topic.topicId, assignment.partition))
      }
    }
    return placed
  }

  /**
   * True once the controller group has replayed what it had committed before this start, hears
   * a leader, and has applied every entry it knows committed: the placement it holds is then the
   * cluster's, including topics deleted while this node was down.
   */
  #controllerSettled(): boolean {
    if (this.#state !== 'running' || this.#controller === undefined) return false
    const group = this.#controller.group
    return group.caughtUp && group.leader !== '' && group.appliedIndex >= group.raft.status().commit
  }

  /** Clears partition logs left in storage that this node no longer keeps (see sweepOrphanedLogs). */
  #sweepOrphanedLogs(): Promise<void> {
    // The placement as of the latest controller version (it may change while the sweep runs).
    let placedVersion = -1
    let placed = new Set<string>()
    const isPlaced = (groupId: string): boolean => {
      const version = this.#controller?.stateMachine.version ?? -1
      if (version !== placedVersion) {
        placedVersion = version
        placed = this.#placedGroupIds()
      }
      return placed.has(groupId)
    }
    return sweepOrphanedLogs({
      storage: this.storage,
      groupCommit: this.#groupCommit!,
      isKept: (groupId) => isPlaced(groupId) || this.#partitions.has(groupId) || this.#opening.has(groupId),
      isRunning: () => this.#state === 'running',
    })
  }

  /** Starts the partition groups the controller placed here and stops those it took away. */
  #reconcile(): void {
    const controller = this.#controller
    const multiRaft = this.#multiRaft
    if (controller === undefined || multiRaft === undefined || this.#state === 'stopped') return
    const wanted = new Set<string>()
    for (const topic of controller.topics()) {
      for (const assignment of topic.partitions) {
        if (!assignment.replicas.includes(this.id)) continue
        const groupId = partitionGroupId(topic.topicId, assignment.partition)
        wanted.add(groupId)
        if (this.#partitions.has(groupId) || this.#opening.has(groupId)) continue
        this.#opening.add(groupId)
        void this.#startPartition(groupId, topic, assignment.partition, assignment.replicas).finally(() => {
          this.#opening.delete(groupId)
        })
      }
    }
    for (const [groupId, host] of this.#partitions) {
      if (wanted.has(groupId)) continue
      this.#partitions.delete(groupId)
      host.stop()
      multiRaft.remove(groupId)
      this.#destroyLog(host.group)
    }
  }

  /** Clears a stopped group's log from storage; `stop()` waits for clears under way. */
  #destroyLog(group: RaftGroup): void {
    if (!(group.log instanceof SegmentedGroupLog)) return
    this.#trackDestroy(group.log.destroy())
  }

  /** Keeps a storage clear under way for `stop()` to wait on; a failure makes the node fail. */
  #trackDestroy(clearing: Promise<void>): void {
    const done = clearing
      .catch((error: unknown) => {
        this.#fatal ??= error
      })
      .finally(() => this.#logsDestroying.delete(done))
    this.#logsDestroying.add(done)
  }

  async #startPartition(
    groupId: string,
    topic: TopicMetadata,
    partition: number,
    replicas: string[],
  ): Promise<void> {
    const host = new PartitionHost({
      topic,
      partition,
      clock: this.clock,
      recentRecordsBytesMax: this.tuning.recentRecordsBytesPerPartitionMax,
      memberSessionTimeoutMs: this.tuning.memberSessionTimeoutMs,
      produceDeadLetter: (deadLetterTopic, record) => this.#produceDeadLetter(deadLetterTopic, record),
    })
    let group: RaftGroup
    try {
      group = await this.#openGroup(groupId, host, bootstrapConfState(replicas), {
        segmentBytesMax: topic.config.segmentBytes,
        ...(topic.config.retentionBytes > 0 ? { retentionBytesMax: topic.config.retentionBytes } : {}),
        ...(topic.config.retentionMs > 0 ? { retentionAgeMsMax: topic.config.retentionMs } : {}),
      })
    } catch (error) {
      this.#fatal = error
      return
    }
    // The topic may have been deleted, or the node stopped, while the log opened.
    const stillWanted = this.#controller?.stateMachine.topic(topic.name)?.topicId === topic.topicId
    if (this.#state === 'stopping' || this.#state === 'stopped') return
    if (!stillWanted) {
      group.stop()
      this.#destroyLog(group)
      return
    }
    host.attach(group)
    this.#partitions.set(groupId, host)
    this.#multiRaft!.add(group)
    // The preferred replica of a fresh group campaigns at once: leaders land where placement spread them.
    if (replicas[0] === this.id && group.raft.status().term === 0) group.raft.campaign()
  }

  /** One retention pass over the partitions hosted here, never two at once. */
  async #applyRetention(): Promise<void> {
    if (this.#retentionRunning || this.#state !== 'running') return
    this.#retentionRunning = true
    try {
      for (const host of [...this.#partitions.values()]) {
        if (host.group.stopped) continue
        await host.applyRetention(this.clock.now()).catch((error: unknown) => {
          // A replica removed during the pass refuses writes: that is not a failure.
          if (!host.group.stopped) this.#fatal ??= error
        })
      }
    } finally {
      this.#retentionRunning = false
    }
  }

  async #produceDeadLetter(topic: string, record: import('./protocol').WireRecord): Promise<void> {
    const producer = this.client().producer({ idempotent: false })
    await producer.send({
      topic,
      messages: [
        { key: record.key, value: record.value, headers: record.headers, timestampMs: record.timestampMs },
      ],
    })
  }

  #accept(connection: Connection): void {
    if (this.#state !== 'running' && this.#state !== 'starting') {
      connection.close()
      return
    }
    const server = new ServerConnection({
      connection,
      token: this.tuning.token,
      frameBytesMax: this.tuning.frameBytesMax,
      inFlightMax: this.tuning.requestsInFlightPerConnectionMax,
      onRaft: (frame) => this.#multiRaft?.receive(frame),
      onRequest: (request) => this.handleRequest(request),
      onClose: (closed) => {
        this.#connections.delete(closed)
        this.#handler?.onConnectionClosed(closed.memberships)
      },
    })
    this.#connections.add(server)
  }

  /** Serves one client request on this node (in-process clients call this directly). */
  handleRequest(request: import('./protocol').ClientRequest, memberships?: Set<string>): Promise<unknown> {
    if (this.#state !== 'running' || this.#handler === undefined) {
      return Promise.reject(new LaminarError('NODE_STOPPED', `node ${this.id} is ${this.#state}`))
    }
    if (this.#fatal !== undefined) {
      return Promise.reject(new LaminarError('INTERNAL', `node ${this.id} failed`, { cause: this.#fatal }))
    }
    return this.#handler.handle(request, memberships)
  }

  /** A client living in this process: this node's requests skip the network. */
  client(): LaminarClient {
    if (this.#client === undefined) {
      const remote = new TransportChannel({
        transport: this.transport,
        clock: this.clock,
        brokers: this.peers.map((p) => p.address),
        clientId: `${this.id}-local`,
        token: this.tuning.token,
        inFlightPerConnectionMax: this.tuning.requestsInFlightPerConnectionMax,
      })
      const channel = new LocalFirstChannel(this.id, (request) => this.handleRequest(request), remote)
      this.#client = new LaminarClient({ channel, clock: this.clock, random: this.random })
    }
    return this.#client
  }

  /** Raft groups and their roles as this node sees them. */
  status(): NodeStatus {
    const groups: GroupStatus[] = []
    for (const group of this.#multiRaft?.groups.values() ?? []) {
      const s = group.raft.status()
      groups.push({
        groupId: group.groupId,
        role: s.role,
        leader: s.leader,
        term: s.term,
        commit: s.commit,
        applied: group.appliedIndex,
      })
    }
    return {
      id: this.id,
      state: this.#state,
      controllerLeader: this.#controller?.leader() ?? null,
      groups,
      raftRounds: this.#multiRaft?.rounds ?? 0,
      peerFramesSent: this.#peerLinks?.framesSent ?? 0,
      peerMessagesSent: this.#peerLinks?.messagesSent ?? 0,
      peerFramesDropped: this.#peerLinks?.framesDropped ?? 0,
    }
  }

  /**
   * Graceful stop: hands the leadership of every group it leads to another voter (waiting a
   * bounded time), then stops ticking, closes connections and storage.
   */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return
    this.#state = 'stopping'
    const multiRaft = this.#multiRaft!
    await this.#transferLeaderships(multiRaft)
    this.#client?.close()
    multiRaft.stop()
    for (const host of this.#partitions.values()) host.stop()
    await this.#listener?.close()
    this.#peerLinks?.close()
    for (const connection of this.#connections) connection.close()
    this.#connections.clear()
    await multiRaft.idle()
    await Promise.all([...this.#logsDestroying])
    await this.storage.close()
    this.#state = 'stopped'
  }

  async #transferLeaderships(multiRaft: MultiRaft): Promise<void> {
    const leading = [...multiRaft.groups.values()].filter((g) => g.isLeader)
    for (const group of leading) {
      const status = group.raft.status()
      let best: string | undefined
      let bestMatch = -1
      for (const [peer, progress] of Object.entries(status.progress)) {
        if (peer === this.id || progress.isLearner || !progress.recentActive) continue
        if (progress.match > bestMatch) {
          best = peer
          bestMatch = progress.match
        }
      }
      if (best !== undefined) group.raft.transferLeadership(best)
    }
    multiRaft.schedule()
    const deadlineMs = this.clock.now() + this.tuning.tickIntervalMs * this.tuning.electionTicks * 2
    while (leading.some((g) => g.isLeader) && this.clock.now() < deadlineMs) {
      await new Promise<void>((resolve) => this.clock.setTimer(resolve, this.tuning.tickIntervalMs))
    }
  }
}
