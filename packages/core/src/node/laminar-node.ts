import type { TopicMetadata } from '../broker/commands'
import type { LaminarClient } from '../client/laminar-client'
import type { TransportChannel } from '../client/node-channel'
import { LaminarError } from '../errors/laminar-error'
import { GroupCommit } from '../log/group-commit'
import { type Clock, systemClock } from '../ports/clock'
import { type Random, systemRandom } from '../ports/random'
import type { Storage } from '../ports/storage'
import type { Connection, Listener, Transport } from '../ports/transport'
import type { NodeId } from '../raft/types'
import { CONTROLLER_GROUP_ID, ControllerHost } from './controller-host'
import {
  type ControllerIdentity,
  type ControllerIdentityOptions,
  decideFounderIdentity,
  foundersConfiguration,
  resolveControllerIdentity,
} from './controller-identity'
import { GroupOpener } from './group-opener'
import { handOverLeaderships } from './leadership-handover'
import { createLocalClient, produceDeadLetter } from './local-client'
import { MembershipDriver } from './membership-driver'
import { MultiRaft } from './multi-raft'
import { type LaminarNodeConfig, type NodeTuning, type PeerConfig, resolveTuning } from './node-options'
import { NodeRequestHandler } from './node-request-handler'
import { buildNodeStatus, type NodeState, type NodeStatus } from './node-status'
import { keptByPlacement, sweepOrphanedLogs } from './orphaned-log-sweep'
import { PartitionGroups } from './partition-groups'
import { PartitionHost } from './partition-host'
import { PeerLinks } from './peer-links'
import { ServerConnection } from './server-connection'
import { prepareNodeStorage } from './storage-format'

export type { GroupStatus, NodeState, NodeStatus } from './node-status'

/** Leaders move group memberships towards the controller's state every this many ticks (and on changes). */
const MEMBERSHIP_EVERY_TICKS = 4

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
  #partitionGroups: PartitionGroups | undefined
  #membership: MembershipDriver | undefined
  /** Addresses of running nodes to ask for admission when this node has no controller bootstrap yet. */
  readonly #seeds: readonly string[]
  readonly #connections = new Set<ServerConnection>()
  #client: LaminarClient | undefined
  /** The in-process client's way to other nodes. */
  #clientChannel: TransportChannel | undefined
  #handler: NodeRequestHandler | undefined
  #fatal: unknown
  #groupCommit: GroupCommit | undefined
  #ticks = 0
  get #retentionEveryTicks(): number {
    return Math.max(1, Math.round(this.tuning.retentionCheckIntervalMs / this.tuning.tickIntervalMs))
  }
  readonly #logsDestroying = new Set<Promise<void>>()
  /** Whether the start-up sweep of orphaned partition logs has begun (it runs once per start). */
  #sweepStarted = false
  /** Why this node's controller group could not start (a founder without state not readmitted). */
  #controllerUnavailable: unknown

  constructor(config: LaminarNodeConfig) {
    this.tuning = resolveTuning(config)
    this.id = config.id
    this.peers = config.peers.map((p) => ({ ...p }))
    this.transport = config.transport
    this.storage = config.storage
    this.clock = config.clock ?? systemClock
    this.random = config.random ?? systemRandom
    this.#address = this.peers.find((p) => p.id === this.id)!.address
    this.#seeds = [...(config.join ?? [])]
  }

  get #partitions(): ReadonlyMap<string, PartitionHost> {
    return this.#partitionGroups?.hosts ?? new Map()
  }

  get state(): NodeState {
    return this.#state
  }

  get address(): string {
    return this.#address
  }

  /**
   * Opens storage, starts the controller group and listens for peers and clients. A node with
   * `join` seeds and no stored controller configuration first asks the cluster to admit it.
   */
  async start(): Promise<void> {
    if (this.#state !== 'created')
      throw new LaminarError('INVALID_ARGUMENT', `node ${this.id} is ${this.#state}`)
    this.#state = 'starting'
    if (this.storage.status === 'opening') await this.storage.open()
    const storageId = await prepareNodeStorage(this.storage, this.random)
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
      onTick: () => this.#onTick(),
      onApplied: () => {},
      onFatal: (error) => {
        this.#fatal = error
      },
    })
    this.#multiRaft = multiRaft
    const identityOptions: ControllerIdentityOptions = {
      nodeId: this.id,
      address: this.#address,
      storageId,
      seeds: this.#seeds,
      storage: this.storage,
      controllerGroupId: CONTROLLER_GROUP_ID,
      otherFounders: new Map(this.peers.filter((p) => p.id !== this.id).map((p) => [p.id, p.address])),
      cancelled: () => this.#state === 'stopping' || this.#state === 'stopped',
      founders: () => foundersConfiguration(this.peers, this.tuning.controllerVotersMax),
      transport: this.transport,
      clock: this.clock,
      random: this.random,
      token: this.tuning.token,
      requestTimeoutMs: this.tuning.requestTimeoutMs,
      learnPeer: (id, address) => peerLinks.setPeer(id, address),
    }
    // Undefined for a founder without controller state: decided once the node runs (below).
    const identity = await resolveControllerIdentity(identityOptions)
    const controller = new ControllerHost(this.peers, identity?.bootstrap ?? identityOptions.founders())
    this.#controller = controller
    const opener = new GroupOpener({
      nodeId: this.id,
      storage: this.storage,
      groupCommit: this.#groupCommit,
      clock: this.clock,
      random: this.random,
      tuning: this.tuning,
    })
    const partitionGroups = new PartitionGroups({
      nodeId: this.id,
      storageId,
      controller,
      multiRaft,
      newHost: (topic, partition) => this.#newPartitionHost(topic, partition),
      openGroup: (...args) => opener.open(...args),
      isRunning: () => this.#state === 'starting' || this.#state === 'running',
      trackDestroy: (clearing) => this.#trackDestroy(clearing),
      onFatal: (error) => {
        this.#fatal = error
      },
    })
    this.#partitionGroups = partitionGroups
    this.#membership = new MembershipDriver({
      nodeId: this.id,
      storageId,
      controller,
      partitions: partitionGroups.hosts,
      controllerVotersMax: this.tuning.controllerVotersMax,
      report: (report) => this.client().admin().reassignmentDone(report),
      register: () => this.client().admin().join(this.id, this.#address, storageId),
      schedule: () => multiRaft.schedule(),
    })
    this.#handler = new NodeRequestHandler(this, controller, partitionGroups.hosts)
    const startController = async (decided: ControllerIdentity): Promise<void> => {
      if (this.#state === 'stopping' || this.#state === 'stopped') return
      const group = await opener.open(
        CONTROLLER_GROUP_ID,
        controller,
        decided.bootstrap,
        {},
        {
          replicaId: decided.replicaId,
          logId: CONTROLLER_GROUP_ID,
        },
      )
      controller.attach(group)
      controller.onChange = () => this.#onControllerChange()
      multiRaft.add(group)
      // A fresh cluster elects without waiting for a timeout (a joiner waits to be told the config).
      if (
        this.#seeds.length === 0 &&
        decided.bootstrap.voters[0] === decided.replicaId &&
        group.raft.status().term === 0
      )
        group.raft.campaign()
    }
    if (identity !== undefined) await startController(identity)
    // Listening comes after the storage reads above: a start cut short by a crash never holds
    // the address its next incarnation needs (Raft messages that came before were retried).
    this.#listener = await this.transport.listen(this.#address, (connection) => this.#accept(connection))
    multiRaft.startTicking()
    this.#state = 'running'
    // A founder without controller state asks the other founders while running (they may be
    // started one after another), its controller group not started until it knows its identity.
    if (identity === undefined) {
      decideFounderIdentity(identityOptions)
        .then(startController)
        .catch((error: unknown) => {
          this.#controllerUnavailable = error
        })
    }
  }

  #onTick(): void {
    for (const host of this.#partitions.values()) host.delivery.tick()
    if (++this.#ticks % this.#retentionEveryTicks === 0)
      void this.#partitionGroups?.applyRetention(this.clock.now())
    if (this.#ticks % MEMBERSHIP_EVERY_TICKS === 0 && this.#state === 'running') this.#membership?.step()
    if (!this.#sweepStarted && this.#controllerSettled()) {
      this.#sweepStarted = true
      this.#trackDestroy(this.#sweepOrphanedLogs())
    }
  }

  /** The controller's state changed: follow its placement, reach new members, move memberships. */
  #onControllerChange(): void {
    if (this.#state === 'stopped' || this.#state === 'stopping') return
    for (const member of this.#controller?.stateMachine.members() ?? []) {
      const address = member.addresses.peer ?? member.addresses.client
      if (address !== undefined) this.#peerLinks?.setPeer(member.nodeId, address)
    }
    this.#clientChannel?.setAddresses(
      new Map((this.#controller?.nodeAddresses() ?? []).map((n) => [n.id, n.address])),
    )
    this.#partitionGroups?.reconcile()
    if (this.#state === 'running') this.#membership?.step()
  }

  /**
   * True once the controller group has replayed what it had committed before this start, hears
   * a leader, and has applied every entry it knows committed: the placement it holds is then the
   * cluster's, including topics deleted while this node was down.
   */
  #controllerSettled(): boolean {
    if (this.#state !== 'running' || this.#controller?.attached !== true) return false
    const group = this.#controller.group
    return group.caughtUp && group.leader !== '' && group.appliedIndex >= group.raft.status().commit
  }

  /** Clears partition logs left in storage that this node no longer keeps (see sweepOrphanedLogs). */
  #sweepOrphanedLogs(): Promise<void> {
    return sweepOrphanedLogs({
      storage: this.storage,
      groupCommit: this.#groupCommit!,
      isKept: keptByPlacement(
        () => this.#controller?.stateMachine.version ?? -1,
        () => this.#partitionGroups?.placedGroupIds() ?? new Set(),
        (groupId) => this.#partitionGroups?.isKept(groupId) === true,
      ),
      isRunning: () => this.#state === 'running',
    })
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

  #newPartitionHost(topic: TopicMetadata, partition: number): PartitionHost {
    return new PartitionHost({
      topic,
      partition,
      clock: this.clock,
      recentRecordsBytesMax: this.tuning.recentRecordsBytesPerPartitionMax,
      memberSessionTimeoutMs: this.tuning.memberSessionTimeoutMs,
      produceDeadLetter: (deadLetterTopic, record) =>
        produceDeadLetter(this.client(), deadLetterTopic, record),
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
    // Answered while starting too: founders probing each other decide from it (controller-identity.ts).
    if (request.op === 'controllerProbe') {
      const storageId = this.#controller?.stateMachine.member(request.nodeId)?.storageId ?? ''
      return Promise.resolve({ registeredStorageId: storageId === '' ? null : storageId })
    }
    if (this.#state !== 'running' || this.#handler === undefined) {
      return Promise.reject(new LaminarError('NODE_STOPPED', `node ${this.id} is ${this.#state}`))
    }
    if (this.#controllerUnavailable !== undefined) return Promise.reject(this.#controllerUnavailable)
    if (this.#fatal !== undefined) {
      return Promise.reject(new LaminarError('INTERNAL', `node ${this.id} failed`, { cause: this.#fatal }))
    }
    return this.#handler.handle(request, memberships)
  }

  /** A client living in this process: this node's requests skip the network. */
  client(): LaminarClient {
    if (this.#client === undefined) {
      const local = createLocalClient({
        nodeId: this.id,
        transport: this.transport,
        clock: this.clock,
        random: this.random,
        tuning: this.tuning,
        nodes: this.#controller?.nodeAddresses() ?? this.peers,
        handle: (request) => this.handleRequest(request),
      })
      this.#client = local.client
      this.#clientChannel = local.remote
    }
    return this.#client
  }

  /** Raft groups and their roles as this node sees them. */
  status(): NodeStatus {
    return buildNodeStatus(
      { id: this.id, state: this.#state, controllerLeader: this.#controller?.leader() ?? null },
      this.#multiRaft,
      this.#peerLinks,
    )
  }

  /**
   * Graceful stop: hands the leadership of every group it leads to another voter (waiting a
   * bounded time), then stops ticking, closes connections and storage.
   */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return
    this.#state = 'stopping'
    const multiRaft = this.#multiRaft!
    await handOverLeaderships(multiRaft, {
      selfId: this.id,
      clock: this.clock,
      tickIntervalMs: this.tuning.tickIntervalMs,
      electionTicks: this.tuning.electionTicks,
    })
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
}
