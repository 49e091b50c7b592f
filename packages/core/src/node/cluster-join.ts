import { LaminarClient } from '../client/laminar-client'
import { TransportChannel } from '../client/node-channel'
import { LaminarError } from '../errors/laminar-error'
import { LogKeys } from '../log/keys'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import type { Storage } from '../ports/storage'
import type { Transport } from '../ports/transport'
import type { ConfState } from '../raft/types'
import type { JoinResult } from './protocol'

/**
 * Node-local facts kept beside the logs (not replicated): under their own group prefix, outside
 * `p/`, so the orphaned-log sweep never touches them.
 */
const NODE_META_KEYS = new LogKeys('node-meta')
/** The controller group's starting configuration, as a joiner was told it. */
const CONTROLLER_BOOTSTRAP_KIND = 0x01
/** This storage's random id, made at its first use (see JoinCommand.storageId). */
const STORAGE_ID_KIND = 0x02

/**
 * The id of this node's storage, made (from `random`, stored durably) the first time the node
 * starts on it. A wiped or replaced disk gets a new one: the controller then renews the node's
 * replicas instead of letting them come back without their Raft state.
 */
export async function loadOrCreateStorageId(storage: Storage, random: Random): Promise<string> {
  const key = NODE_META_KEYS.single(STORAGE_ID_KIND as Parameters<LogKeys['single']>[0])
  const stored = await storage.get(key)
  if (stored !== undefined) return new TextDecoder().decode(stored)
  let storageId = ''
  for (let i = 0; i < 4; i++) storageId += Math.floor(random.next() * 0x1_0000_0000).toString(36)
  await storage.write([{ type: 'put', key, value: new TextEncoder().encode(storageId) }], { sync: true })
  return storageId
}

function controllerBootstrapKey(): Uint8Array {
  return NODE_META_KEYS.single(CONTROLLER_BOOTSTRAP_KIND as Parameters<LogKeys['single']>[0])
}

/** The controller bootstrap this node stored when it joined, if it ever did. */
export async function loadControllerBootstrap(storage: Storage): Promise<ConfState | undefined> {
  const bytes = await storage.get(controllerBootstrapKey())
  if (bytes === undefined) return undefined
  try {
    const conf = JSON.parse(new TextDecoder().decode(bytes)) as ConfState
    if (!Array.isArray(conf.voters) || !Array.isArray(conf.learners)) throw new TypeError('not a ConfState')
    return conf
  } catch (cause) {
    throw new LaminarError('STORAGE_CORRUPT', 'stored controller bootstrap is not a configuration', {
      cause,
      details: { key: 'node-meta/controller-bootstrap' },
    })
  }
}

/** Stores the controller bootstrap durably: a restarted joiner must start from the same one. */
export async function saveControllerBootstrap(storage: Storage, conf: ConfState): Promise<void> {
  const value = new TextEncoder().encode(JSON.stringify(conf))
  await storage.write([{ type: 'put', key: controllerBootstrapKey(), value }], { sync: true })
}

export interface JoinRequestOptions {
  nodeId: string
  /** Where this node listens (peers and clients). */
  address: string
  /** This node's storage id, registered with its join. */
  storageId?: string
  /** Addresses of nodes already running; any one will do. */
  seeds: readonly string[]
  transport: Transport
  clock: Clock
  random: Random
  token: string
  requestTimeoutMs: number
  /** Rounds of attempts (each follows leader hints a bounded number of times). */
  roundsMax: number
}

/**
 * Asks a running cluster to admit this node: the controller leader commits a `join` and answers
 * the controller's bootstrap configuration and the members' addresses. Retries a bounded number
 * of rounds (a seed still starting, an election), then fails with the last error.
 */
export async function requestJoin(options: JoinRequestOptions): Promise<JoinResult> {
  if (options.seeds.length === 0)
    throw new LaminarError('INVALID_ARGUMENT', 'join needs at least one seed address')
  const channel = new TransportChannel({
    transport: options.transport,
    clock: options.clock,
    brokers: options.seeds,
    clientId: `${options.nodeId}-join`,
    token: options.token,
    inFlightPerConnectionMax: 16,
  })
  const client = new LaminarClient({
    channel,
    clock: options.clock,
    random: options.random,
    requestTimeoutMs: options.requestTimeoutMs,
  })
  try {
    let lastError: unknown
    for (let round = 0; round < options.roundsMax; round++) {
      try {
        // Node ids resolve to addresses first: the controller leader's hint names a node id.
        await client.metadata()
        return await client.admin().join(options.nodeId, options.address, options.storageId)
      } catch (error) {
        lastError = error
        await new Promise<void>((resolve) => options.clock.setTimer(resolve, 100))
      }
    }
    throw lastError
  } finally {
    client.close()
  }
}

/**
 * The members' addresses as a running node (any seed) knows them. A joined node restarting from
 * its stored admission knows only itself until its controller log replays, and a leader that
 * joined while it was down is in no entry it holds: without an address it could never answer
 * that leader. Bounded attempts; resolves empty when no seed answers.
 */
export async function fetchMemberAddresses(
  options: Omit<JoinRequestOptions, 'address'>,
): Promise<Array<{ id: string; address: string }>> {
  const channel = new TransportChannel({
    transport: options.transport,
    clock: options.clock,
    brokers: options.seeds,
    clientId: `${options.nodeId}-peers`,
    token: options.token,
    inFlightPerConnectionMax: 16,
  })
  const client = new LaminarClient({
    channel,
    clock: options.clock,
    random: options.random,
    requestTimeoutMs: options.requestTimeoutMs,
    attemptsMax: options.roundsMax,
  })
  try {
    return (await client.metadata()).nodes
  } catch {
    return []
  } finally {
    client.close()
  }
}

export interface ControllerBootstrapOptions extends Omit<JoinRequestOptions, 'roundsMax'> {
  storage: Storage
  /** The founders' configuration, from the configured peers (a node started without seeds). */
  founders: () => ConfState
  /** Tells the node's peer links where a member listens. */
  learnPeer: (nodeId: string, address: string) => void
}

/**
 * The controller group's starting configuration for this start: the one stored when this node
 * joined (its seeds then only tell it, in the background, where the members are); else, on a
 * first start with seeds, the one the cluster answers when it admits this node (stored before
 * use); else the founders' (the first 3 or 5 configured nodes as voters, the others learners).
 */
export async function resolveControllerBootstrap(options: ControllerBootstrapOptions): Promise<ConfState> {
  const stored = await loadControllerBootstrap(options.storage)
  if (stored !== undefined) {
    if (options.seeds.length > 0) {
      void fetchMemberAddresses({ ...options, roundsMax: 5 }).then((nodes) => {
        for (const node of nodes) options.learnPeer(node.id, node.address)
      })
    }
    return stored
  }
  if (options.seeds.length === 0) return options.founders()
  const admitted = await requestJoin({ ...options, roundsMax: 10 })
  for (const member of admitted.members) options.learnPeer(member.id, member.address)
  await saveControllerBootstrap(options.storage, admitted.controllerBootstrap)
  return admitted.controllerBootstrap
}
