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

  /** @internal Use {@link MemoryNetwork.transport}. */
  constructor(network: MemoryNetwork, host: string) {
    this.network = network
    this.host = host
  }

  async listen(address: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    return this.network.listen(this.host, address, onConnection)
  }

  connect(address: string): Promise<Connection> {
    return this.network.connect(this.host, address)
  }
}
