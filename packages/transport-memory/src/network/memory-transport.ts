import type { Connection, Listener, Transport } from '@laminar-ts/core'
import type { MemoryNetwork } from './memory-network'

/**
 * The Transport port inside one process. Create it from a {@link MemoryNetwork}:
 * `const transport = network.transport({ host: 'n1' })`. Addresses are any non-empty names.
 */
export class MemoryTransport implements Transport {
  readonly network: MemoryNetwork
  /** The host this transport's listeners and connections live on. */
  readonly host: string

  /** The host's incarnation this transport belongs to: a crash of the host ends it. */
  readonly #incarnation: number

  /** @internal Use {@link MemoryNetwork.transport}. */
  constructor(network: MemoryNetwork, host: string, incarnation: number) {
    this.network = network
    this.host = host
    this.#incarnation = incarnation
  }

  async listen(address: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    this.network.assertIncarnation(this.host, this.#incarnation)
    return this.network.listen(this.host, address, onConnection)
  }

  connect(address: string): Promise<Connection> {
    try {
      this.network.assertIncarnation(this.host, this.#incarnation)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.network.connect(this.host, address)
  }
}
