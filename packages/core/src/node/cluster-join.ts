import { LaminarClient } from '../client/laminar-client'
import { TransportChannel } from '../client/node-channel'
import { LaminarError } from '../errors/laminar-error'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import type { Transport } from '../ports/transport'
import type { JoinResult } from './protocol'

export interface JoinRequestOptions {
  nodeId: string
  /** Where this node listens (peers and clients). */
  address: string
  /** This node's storage id, registered with its join. */
  storageId?: string
  /** The storage holds no controller state (see JoinCommand.freshStorage). */
  freshStorage?: boolean
  /** Addresses of nodes already running; any one will do. */
  seeds: readonly string[]
  transport: Transport
  clock: Clock
  random: Random
  token: string
  requestTimeoutMs: number
  /** Rounds of attempts (each follows leader hints a bounded number of times). */
  roundsMax: number
  /** Attempts per round (the client's default when absent). */
  attemptsPerRoundMax?: number
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
    ...(options.attemptsPerRoundMax === undefined ? {} : { attemptsMax: options.attemptsPerRoundMax }),
  })
  try {
    let lastError: unknown
    for (let round = 0; round < options.roundsMax; round++) {
      try {
        // Node ids resolve to addresses first: the controller leader's hint names a node id.
        await client.metadata()
        return await client
          .admin()
          .join(options.nodeId, options.address, options.storageId, options.freshStorage)
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
