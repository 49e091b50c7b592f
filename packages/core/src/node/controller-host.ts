import type { ControllerCommand, ControllerResult, TopicMetadata } from '../broker/commands'
import { ControllerStateMachine } from '../broker/controller-state-machine'
import { decodeControllerCommand, encodeControllerCommand } from '../codec/index'
import { LaminarError } from '../errors/laminar-error'
import type { ConfState, NodeId } from '../raft/types'
import type { PeerConfig } from './node-options'
import type {
  ClientRequest,
  ClusterDescription,
  ClusterMetadata,
  JoinResult,
  TopicDescription,
} from './protocol'
import type { GroupApplier, RaftGroup } from './raft-group'

/** The controller's Raft group id on every node. */
export const CONTROLLER_GROUP_ID = 'controller'

/** The Raft group id of one partition; the topic id tells a re-created topic from its predecessor. */
export function partitionGroupId(topicId: number, partition: number): string {
  return `p/${topicId}/${partition}`
}

/** Membership requests the controller leader serves. */
export type MembershipRequest = Extract<
  ClientRequest,
  { op: 'join' | 'removeNode' | 'reassignPartition' | 'reassignmentDone' }
>

/**
 * The controller as hosted on one node: its state machine applied from the controller group,
 * metadata answers, and admin proposals (leader only). Voters start as the first 3 or 5
 * configured nodes, every other node follows as a learner, so every node knows the placement;
 * members joining later are added by the leader (node/membership-driver.ts).
 */
export class ControllerHost implements GroupApplier {
  readonly stateMachine = new ControllerStateMachine()
  readonly #peers: readonly PeerConfig[]
  /**
   * The configuration the controller group started from. Invariant: identical on every node
   * (a joiner gets it from the node that admits it), since it is not in the group's log.
   */
  readonly bootstrap: ConfState
  #group: RaftGroup | undefined
  #joining: Promise<void> | undefined
  /** Called after applying a command that changed the metadata version. */
  onChange: (() => void) | undefined

  constructor(peers: readonly PeerConfig[], bootstrap: ConfState) {
    this.#peers = peers
    this.bootstrap = bootstrap
  }

  attach(group: RaftGroup): void {
    this.#group = group
  }

  /** False until the controller group runs here (a founder without state decides first). */
  get attached(): boolean {
    return this.#group !== undefined
  }

  /** Throws NOT_LEADER (with a hint when known) unless this node leads the controller group. */
  requireLeader(): void {
    if (this.#group === undefined)
      throw new LaminarError('NOT_LEADER', 'the controller group has not started on this node yet')
    if (!this.#group.isLeader) throw this.#group.notLeader()
  }

  get group(): RaftGroup {
    if (this.#group === undefined) throw new LaminarError('INTERNAL', 'controller group not started')
    return this.#group
  }

  applyCommand(index: number, command: Uint8Array): ControllerResult | undefined {
    const before = this.stateMachine.version
    const result = this.stateMachine.apply(index, decodeControllerCommand(command))
    if (this.stateMachine.version !== before) this.onChange?.()
    return result
  }

  restoreSnapshot(data: Uint8Array): void {
    this.stateMachine.restore(data)
    this.onChange?.()
  }

  onRoleChange(isLeader: boolean): void {
    if (isLeader) void this.ensureMembers().catch(() => {})
  }

  /**
   * Proposes a join for every node of the bootstrap configuration the controller does not know
   * yet: placement only uses members, so a fresh cluster needs them before its first topic.
   * Nodes removed since are left out (they come back only by joining themselves).
   */
  ensureMembers(): Promise<void> {
    if (this.#joining !== undefined) return this.#joining
    const known = new Set(this.stateMachine.members().map((m) => m.nodeId))
    const founders = new Set([...this.bootstrap.voters, ...this.bootstrap.learners])
    const missing = this.#peers.filter(
      (p) => founders.has(p.id) && !known.has(p.id) && !this.stateMachine.wasRemoved(p.id),
    )
    if (missing.length === 0) return Promise.resolve()
    this.#joining = Promise.all(
      missing.map((p) =>
        this.propose({ type: 'join', nodeId: p.id, addresses: { peer: p.address, client: p.address } }),
      ),
    )
      .then(() => undefined)
      .finally(() => {
        this.#joining = undefined
      })
    return this.#joining
  }

  /** Proposes a command on the controller leader; error results become LaminarErrors. */
  async propose(command: ControllerCommand): Promise<number> {
    const result = (await this.group.propose(encodeControllerCommand(command))) as
      | ControllerResult
      | undefined
    if (result === undefined) throw new LaminarError('INTERNAL', `controller ignored ${command.type}`)
    if (result.type === 'error')
      throw new LaminarError(result.code, result.message, { details: { command: command.type } })
    return result.version
  }

  topics(): TopicMetadata[] {
    return this.stateMachine.topics()
  }

  leader(): NodeId | null {
    const leader = this.#group?.leader ?? ''
    return leader === '' ? null : leader
  }

  /**
   * Every node's address: the members' (joined at run time too), and configured nodes the
   * controller has not admitted yet (a fresh cluster).
   */
  nodeAddresses(): Array<{ id: string; address: string }> {
    const nodes = new Map<string, string>()
    for (const peer of this.#peers) {
      if (!this.stateMachine.wasRemoved(peer.id)) nodes.set(peer.id, peer.address)
    }
    for (const member of this.stateMachine.members()) {
      const address = member.addresses.client ?? member.addresses.peer
      if (address !== undefined) nodes.set(member.nodeId, address)
    }
    return [...nodes].map(([id, address]) => ({ id, address }))
  }

  /** Metadata as this node knows it; `leaderOf` answers for the partitions it hosts. */
  metadata(leaderOf: (topicId: number, partition: number) => string | null): ClusterMetadata {
    return {
      nodes: this.nodeAddresses(),
      controllerLeader: this.leader(),
      topics: this.topics().map((t) => describeTopic(t, leaderOf)),
    }
  }

  /** Serves a membership request on the controller leader (the caller checked leadership). */
  async serveMembership(request: MembershipRequest): Promise<unknown> {
    switch (request.op) {
      case 'join': {
        const addresses = { peer: request.address, client: request.address }
        const storageId = request.storageId === undefined ? {} : { storageId: request.storageId }
        const fresh = request.freshStorage === true ? { freshStorage: true } : {}
        await this.propose({ type: 'join', nodeId: request.nodeId, addresses, ...storageId, ...fresh })
        const result: JoinResult = {
          controllerBootstrap: this.bootstrap,
          members: this.nodeAddresses(),
          controllerReplicaId:
            this.stateMachine.member(request.nodeId)?.controllerReplicaId ?? request.nodeId,
        }
        return result
      }
      case 'removeNode': {
        const members = this.stateMachine.members()
        if (!members.some((m) => m.nodeId === request.nodeId)) {
          throw new LaminarError('NODE_NOT_FOUND', `${request.nodeId} is not a member`, {
            details: { nodeId: request.nodeId },
          })
        }
        if (!members.some((m) => m.nodeId !== request.nodeId && !m.leaving)) {
          throw new LaminarError(
            'INVALID_ARGUMENT',
            `${request.nodeId} is the last active member: the controller would have no voter left`,
          )
        }
        await this.propose({ type: 'leave', nodeId: request.nodeId })
        return null
      }
      case 'reassignPartition':
        await this.propose({
          type: 'reassignPartition',
          topic: request.topic,
          partition: request.partition,
          replicas: request.replicas,
        })
        return null
      case 'reassignmentDone':
        await this.propose({
          type: 'reassignmentDone',
          topic: request.topic,
          topicId: request.topicId,
          partition: request.partition,
          replicas: request.replicas,
        })
        return null
    }
  }

  /** Members, the controller group's configuration here, and every partition's move state. */
  describeCluster(): ClusterDescription {
    const config = this.#group?.raft.status().config
    const addresses = new Map(this.nodeAddresses().map((n) => [n.id, n.address]))
    return {
      controllerLeader: this.leader(),
      controllerVoters: [...(config?.voters ?? [])],
      controllerLearners: [...(config?.learners ?? [])],
      members: this.stateMachine.members().map((m) => ({
        id: m.nodeId,
        address: addresses.get(m.nodeId) ?? '',
        leaving: m.leaving,
      })),
      partitions: this.topics().flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partition,
          replicas: [...p.replicas],
          currentReplicas: [...p.currentReplicas],
          // By replica id: a renewal after a wiped disk moves the group with the same node ids.
          reassigning: !sameMembers(p.replicaIds, p.currentReplicaIds),
        })),
      ),
    }
  }
}

/** Two replica lists with the same nodes, in any order. */
export function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id))
}

export function describeTopic(
  topic: TopicMetadata,
  leaderOf: (topicId: number, partition: number) => string | null,
): TopicDescription {
  return {
    name: topic.name,
    topicId: topic.topicId,
    replicationFactor: topic.replicationFactor,
    config: { ...topic.config },
    partitions: topic.partitions.map((p) => ({
      partition: p.partition,
      replicas: [...p.replicas],
      currentReplicas: [...p.currentReplicas],
      leader: leaderOf(topic.topicId, p.partition),
    })),
  }
}
