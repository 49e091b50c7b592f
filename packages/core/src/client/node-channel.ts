import { LaminarError } from '../errors/laminar-error'
import type { ClientRequest, FetchResult, ReadResult } from '../node/protocol'
import type { Clock } from '../ports/clock'
import type { Transport } from '../ports/transport'
import { ClientConnection } from './client-connection'
import { detachDeliveries, detachRead } from './detach-records'

/**
 * How a client reaches nodes: by node id once metadata named them, or any bootstrap node
 * (`nodeId` undefined) before that.
 */
export interface NodeChannel {
  request(nodeId: string | undefined, request: ClientRequest, timeoutMs: number): Promise<unknown>
  /** Learns where nodes listen (from metadata). */
  setAddresses(addresses: ReadonlyMap<string, string>): void
  close(): void
}

export interface TransportChannelOptions {
  transport: Transport
  clock: Clock
  /** Addresses to start from; any of them will do. */
  brokers: readonly string[]
  clientId: string
  token: string
  inFlightPerConnectionMax: number
}

/** Reaches nodes over a Transport, one pipelined connection per address. */
export class TransportChannel implements NodeChannel {
  readonly #options: TransportChannelOptions
  readonly #connections = new Map<string, ClientConnection>()
  #addresses = new Map<string, string>()
  #bootstrapCursor = 0
  #closed = false

  constructor(options: TransportChannelOptions) {
    if (options.brokers.length === 0) throw new LaminarError('INVALID_ARGUMENT', 'brokers must not be empty')
    this.#options = options
  }

  setAddresses(addresses: ReadonlyMap<string, string>): void {
    this.#addresses = new Map(addresses)
  }

  request(nodeId: string | undefined, request: ClientRequest, timeoutMs: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LaminarError('CONNECTION_CLOSED', 'client is closed'))
    let address = nodeId === undefined ? undefined : this.#addresses.get(nodeId)
    if (address === undefined) {
      // Unknown node: any bootstrap broker, rotating so a dead one is not tried forever.
      const brokers = this.#options.brokers
      address = brokers[this.#bootstrapCursor++ % brokers.length]!
    }
    let connection = this.#connections.get(address)
    if (connection === undefined || connection.closed) {
      connection = new ClientConnection({
        transport: this.#options.transport,
        clock: this.#options.clock,
        address,
        clientId: this.#options.clientId,
        token: this.#options.token,
        inFlightMax: this.#options.inFlightPerConnectionMax,
      })
      this.#connections.set(address, connection)
    }
    return connection.request(request, timeoutMs)
  }

  close(): void {
    this.#closed = true
    for (const connection of this.#connections.values()) connection.close()
    this.#connections.clear()
  }
}

/**
 * A node's own requests handled in process without encoding; other nodes over the transport.
 * Records read or delivered in process are copies (client/detach-records.ts), never the log's.
 */
export class LocalFirstChannel implements NodeChannel {
  readonly #localId: string
  readonly #handle: (request: ClientRequest) => Promise<unknown>
  readonly #remote: NodeChannel

  constructor(localId: string, handle: (request: ClientRequest) => Promise<unknown>, remote: NodeChannel) {
    this.#localId = localId
    this.#handle = handle
    this.#remote = remote
  }

  setAddresses(addresses: ReadonlyMap<string, string>): void {
    this.#remote.setAddresses(addresses)
  }

  request(nodeId: string | undefined, request: ClientRequest, timeoutMs: number): Promise<unknown> {
    if (nodeId === undefined || nodeId === this.#localId) {
      if (request.op === 'read') return this.#handle(request).then((r) => detachRead(r as ReadResult))
      if (request.op === 'fetch') {
        return this.#handle(request).then((r) => {
          const result = r as FetchResult
          return { ...result, deliveries: detachDeliveries(result.deliveries) }
        })
      }
      return this.#handle(request)
    }
    return this.#remote.request(nodeId, request, timeoutMs)
  }

  close(): void {
    this.#remote.close()
  }
}
