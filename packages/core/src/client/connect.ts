import { type Clock, systemClock } from '../ports/clock'
import { type Random, systemRandom } from '../ports/random'
import type { Transport } from '../ports/transport'
import { LaminarClient } from './laminar-client'
import { TransportChannel } from './node-channel'

export interface ConnectOptions {
  /** Addresses of any nodes; the client learns the others from metadata. */
  brokers: string[]
  transport: Transport
  clock?: Clock
  random?: Random
  /** Authentication placeholder, checked by nodes configured with a token. */
  token?: string
  clientId?: string
  requestTimeoutMs?: number
  /** Attempts per request across leader hops and retries before the last error (default 20). */
  attemptsMax?: number
  /** Requests in flight per connection (default 4096); more are refused with BUFFER_FULL. */
  inFlightPerConnectionMax?: number
}

/** Connects to a cluster over a transport and loads its metadata. */
export async function connect(options: ConnectOptions): Promise<LaminarClient> {
  const clock = options.clock ?? systemClock
  const random = options.random ?? systemRandom
  const channel = new TransportChannel({
    transport: options.transport,
    clock,
    brokers: options.brokers,
    clientId: options.clientId ?? `client-${Math.floor(random.next() * 2 ** 32).toString(36)}`,
    token: options.token ?? '',
    inFlightPerConnectionMax: options.inFlightPerConnectionMax ?? 4096,
  })
  const client = new LaminarClient({
    channel,
    clock,
    random,
    requestTimeoutMs: options.requestTimeoutMs,
    attemptsMax: options.attemptsMax,
  })
  await client.metadata()
  return client
}
