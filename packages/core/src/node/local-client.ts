import { LaminarClient } from '../client/laminar-client'
import { LocalFirstChannel, TransportChannel } from '../client/node-channel'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import type { Transport } from '../ports/transport'
import type { NodeTuning } from './node-options'
import type { ClientRequest, WireRecord } from './protocol'

export interface LocalClientOptions {
  nodeId: string
  transport: Transport
  clock: Clock
  random: Random
  tuning: NodeTuning
  /** Every node's address as this node knows it now. */
  nodes: ReadonlyArray<{ id: string; address: string }>
  /** Serves a request on this node (no encoding, no network). */
  handle: (request: ClientRequest) => Promise<unknown>
}

/**
 * The client living in a node's process: its own requests skip the network, the others go over
 * the transport. `remote` is returned so the node can keep node ids resolving to addresses as
 * members join (a joined node's own config lists only itself).
 */
export function createLocalClient(options: LocalClientOptions): {
  client: LaminarClient
  remote: TransportChannel
} {
  const remote = new TransportChannel({
    transport: options.transport,
    clock: options.clock,
    brokers: options.nodes.map((n) => n.address),
    clientId: `${options.nodeId}-local`,
    token: options.tuning.token,
    inFlightPerConnectionMax: options.tuning.requestsInFlightPerConnectionMax,
  })
  remote.setAddresses(new Map(options.nodes.map((n) => [n.id, n.address])))
  const channel = new LocalFirstChannel(options.nodeId, options.handle, remote)
  const client = new LaminarClient({ channel, clock: options.clock, random: options.random })
  return { client, remote }
}

/** Forwards one dead letter to its topic through the node's client (not idempotent: confirmed after). */
export async function produceDeadLetter(
  client: LaminarClient,
  topic: string,
  record: WireRecord,
): Promise<void> {
  const producer = client.producer({ idempotent: false })
  await producer.send({
    topic,
    messages: [
      { key: record.key, value: record.value, headers: record.headers, timestampMs: record.timestampMs },
    ],
  })
}
