import { TransportChannel } from '../client/node-channel'
import { LaminarError } from '../errors/laminar-error'
import type { Storage } from '../ports/storage'
import { bootstrapConfState } from '../raft/index'
import type { ConfState } from '../raft/types'
import { fetchMemberAddresses, type JoinRequestOptions, requestJoin } from './cluster-join'
import {
  hasControllerLog,
  loadControllerBootstrap,
  loadControllerReplicaId,
  saveControllerIdentity,
} from './node-meta'
import { controllerVoters, type PeerConfig } from './node-options'
import type { ControllerProbeResult } from './protocol'

/** Delay between two rounds of a founder's probe of the other founders. */
const PROBE_RETRY_MS = 100
/**
 * A fresh founder's attempts to be readmitted before it fails closed: rounds of a few attempts
 * (about 10 s in all with the client's backoff), since only a controller leader can admit it.
 */
const REJOIN_ROUNDS_MAX = 10
const REJOIN_ATTEMPTS_PER_ROUND_MAX = 5

/**
 * The founders' controller configuration: the first 3 (5 from 5 nodes on) configured nodes as
 * voters, named by node id (every founder derives it alone), the others learners.
 */
export function foundersConfiguration(peers: readonly PeerConfig[], votersMax: number): ConfState {
  const voters = controllerVoters(peers, votersMax)
  return bootstrapConfState(
    voters,
    peers.map((p) => p.id).filter((id) => !voters.includes(id)),
  )
}

/** How this node's controller replica starts: from which configuration, under which id. */
export interface ControllerIdentity {
  /** The controller group's starting configuration (identical on every node; not in its log). */
  bootstrap: ConfState
  /** This node's controller replica id: its node id, or `<nodeId>@<epoch>` once renewed. */
  replicaId: string
}

export interface ControllerIdentityOptions extends Omit<JoinRequestOptions, 'roundsMax'> {
  storage: Storage
  /** The controller group's log id on this node. */
  controllerGroupId: string
  /** The founders' configuration, from the configured peers (a node started without seeds). */
  founders: () => ConfState
  /** The configured peers other than this node, id to address (whom a founder probes). */
  otherFounders: ReadonlyMap<string, string>
  /** Tells the node's peer links where a member listens. */
  learnPeer: (nodeId: string, address: string) => void
  /** True once the node was asked to stop. */
  cancelled: () => boolean
}

/**
 * The controller identity a start can know at once, or undefined for a founder whose storage holds
 * no controller state (see {@link decideFounderIdentity}). A node's controller replica must never
 * vote or count toward commit under an id whose durable state it lost (etcd's rule: a member that
 * lost its data comes back as a new member), so:
 * - node-meta names the id (and a joiner's bootstrap): a restart, as that id;
 * - a controller log without a stored id (written before ids were stored): the node id;
 * - a joiner without state asks a running node for admission (`join`, with `freshStorage`): the
 *   controller gives a member that lost its storage a new id, an unknown node its node id.
 * The id is stored (synced) before the controller group first runs on this storage.
 */
export async function resolveControllerIdentity(
  options: ControllerIdentityOptions,
): Promise<ControllerIdentity | undefined> {
  const { storage, nodeId } = options
  const storedBootstrap = await loadControllerBootstrap(storage)
  const storedId = await loadControllerReplicaId(storage)
  if (storedBootstrap !== undefined) {
    if (options.seeds.length > 0) {
      void fetchMemberAddresses({ ...options, roundsMax: 5 }).then((nodes) => {
        for (const node of nodes) options.learnPeer(node.id, node.address)
      })
    }
    return { bootstrap: storedBootstrap, replicaId: storedId ?? nodeId }
  }
  if (options.seeds.length > 0) return admit(options, options.seeds, 10)
  const founders = options.founders()
  if (storedId !== undefined) return { bootstrap: founders, replicaId: storedId }
  if (await hasControllerLog(storage, options.controllerGroupId)) {
    await saveControllerIdentity(storage, nodeId)
    return { bootstrap: founders, replicaId: nodeId }
  }
  return undefined
}

/**
 * A founder without controller state decides, while its node already runs (listening, answering
 * probes, its controller group not started): it probes the other founders; if any of them
 * recorded another storage for it, it took part in the cluster and forgot it, so it is readmitted
 * like a joiner, under a new id (and fails with CONTROLLER_UNAVAILABLE when no controller leader
 * admits it); once a majority of the founders' voters (itself included) answered without such a
 * record, it runs under its node id from the founders' configuration (a new cluster, or a founder
 * starting after the others formed it).
 */
export async function decideFounderIdentity(options: ControllerIdentityOptions): Promise<ControllerIdentity> {
  const founders = options.founders()
  if ((await probeFounders(options, founders)) === 'as founder') {
    await saveControllerIdentity(options.storage, options.nodeId)
    return { bootstrap: founders, replicaId: options.nodeId }
  }
  try {
    return await admit(
      options,
      [...options.otherFounders.values()],
      REJOIN_ROUNDS_MAX,
      REJOIN_ATTEMPTS_PER_ROUND_MAX,
    )
  } catch (cause) {
    if (options.cancelled()) throw cause
    throw new LaminarError(
      'CONTROLLER_UNAVAILABLE',
      `node ${options.nodeId} holds no controller state and no controller leader readmitted it; if a majority of the controller's voters lost their disks, the cluster cannot decide safely: bring their disks back or re-create the cluster`,
      { cause, details: { nodeId: options.nodeId } },
    )
  }
}

/** Asks a running node for admission (freshStorage: this storage has no controller state). */
async function admit(
  options: ControllerIdentityOptions,
  seeds: readonly string[],
  roundsMax: number,
  attemptsPerRoundMax?: number,
): Promise<ControllerIdentity> {
  const attempts = attemptsPerRoundMax === undefined ? {} : { attemptsPerRoundMax }
  const admitted = await requestJoin({ ...options, seeds, freshStorage: true, roundsMax, ...attempts })
  for (const member of admitted.members) options.learnPeer(member.id, member.address)
  const replicaId = admitted.controllerReplicaId ?? options.nodeId
  await saveControllerIdentity(options.storage, replicaId, admitted.controllerBootstrap)
  return { bootstrap: admitted.controllerBootstrap, replicaId }
}

/**
 * Asks the other founders, round after round, which storage their controller recorded for this
 * node. 'lost state' as soon as one names another storage than this one (this node registered a
 * storage it no longer has: it took part under its old id); 'as founder' once a majority of the
 * founding voters (this node included) answered without such a record. A founder that is down
 * answers nothing: the cluster's first start waits for a majority of its founding voters, which
 * its first election needs anyway.
 */
async function probeFounders(
  options: ControllerIdentityOptions,
  founders: ConfState,
): Promise<'lost state' | 'as founder'> {
  const others = [...options.otherFounders.keys()]
  if (others.length === 0) return 'as founder'
  const channel = new TransportChannel({
    transport: options.transport,
    clock: options.clock,
    brokers: [...options.otherFounders.values()],
    clientId: `${options.nodeId}-probe`,
    token: options.token,
    inFlightPerConnectionMax: 4,
  })
  channel.setAddresses(options.otherFounders)
  const timeoutMs = Math.min(options.requestTimeoutMs, 1_000)
  const request = { op: 'controllerProbe' as const, nodeId: options.nodeId }
  try {
    for (;;) {
      if (options.cancelled())
        throw new LaminarError('NODE_STOPPED', `node ${options.nodeId} stopped while starting`)
      const answers = await Promise.all(
        others.map((id) =>
          channel.request(id, request, timeoutMs).then(
            (result) => result as ControllerProbeResult,
            () => undefined,
          ),
        ),
      )
      const recorded = answers.map((answer) => answer?.registeredStorageId ?? null)
      if (recorded.some((id) => id !== null && id !== options.storageId)) return 'lost state'
      const answered = new Set(others.filter((_, i) => answers[i] !== undefined))
      answered.add(options.nodeId)
      const voters = founders.voters
      if (voters.filter((id) => answered.has(id)).length * 2 > voters.length) return 'as founder'
      await new Promise<void>((resolve) => options.clock.setTimer(resolve, PROBE_RETRY_MS))
    }
  } finally {
    channel.close()
  }
}
