import type { Clock, Connection, Transport } from '@laminar-ts/core'
import type { SimPeer } from '../process'

interface PeerLink {
  connection: Connection | undefined
  connecting: boolean
  retryAtMs: number
}

export interface RaftPeerLinksOptions {
  selfId: string
  peers: readonly SimPeer[]
  transport: Transport
  clock: Clock
  /** Above this many bytes queued to one peer, frames are refused (Raft retransmits). */
  peerBufferedBytesMax: number
  /** Wait this long before dialling a peer again after a failed connect. */
  reconnectDelayMs: number
  onFrame: (frame: Uint8Array) => void
}

/**
 * The Raft process's connections: one outgoing connection per peer, dialled lazily and redialled
 * after a pause when it fails; frames arrive on the connections peers dialled to us.
 */
export class RaftPeerLinks {
  readonly #options: RaftPeerLinksOptions
  readonly #links = new Map<string, PeerLink>()
  readonly #inbound = new Set<Connection>()
  #closed = false

  constructor(options: RaftPeerLinksOptions) {
    this.#options = options
  }

  async listen(): Promise<void> {
    const self = this.#options.peers.find((peer) => peer.id === this.#options.selfId)
    await this.#options.transport.listen(self?.address ?? this.#options.selfId, (connection) => {
      if (this.#closed) {
        connection.close()
        return
      }
      this.#inbound.add(connection)
      connection.on('message', (frame) => {
        if (!this.#closed) this.#options.onFrame(frame)
      })
      connection.on('close', () => this.#inbound.delete(connection))
    })
  }

  /** Hand a frame to the peer's connection; false when there is none (yet) or it is too full. */
  send(peer: string, frame: Uint8Array): boolean {
    let link = this.#links.get(peer)
    if (link === undefined)
      this.#links.set(peer, (link = { connection: undefined, connecting: false, retryAtMs: 0 }))
    const connection = link.connection
    if (connection !== undefined && !connection.closed) {
      if (connection.bufferedBytes > this.#options.peerBufferedBytesMax) return false
      connection.send(frame)
      return true
    }
    link.connection = undefined
    this.#dial(peer, link)
    return false
  }

  close(): void {
    this.#closed = true
    for (const link of this.#links.values()) link.connection?.close()
    for (const connection of this.#inbound) connection.close()
  }

  #dial(peer: string, link: PeerLink): void {
    const clock = this.#options.clock
    if (this.#closed || link.connecting || clock.now() < link.retryAtMs) return
    const address = this.#options.peers.find((p) => p.id === peer)?.address
    if (address === undefined) return
    link.connecting = true
    this.#options.transport.connect(address).then(
      (connection) => {
        link.connecting = false
        if (this.#closed) {
          connection.close()
          return
        }
        link.connection = connection
        connection.on('close', () => {
          if (link.connection === connection) link.connection = undefined
        })
      },
      () => {
        link.connecting = false
        link.retryAtMs = clock.now() + this.#options.reconnectDelayMs
      },
    )
  }
}
