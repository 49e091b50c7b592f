import { nodeOfReplica } from '../broker/replica-ids'
import type { Clock } from '../ports/clock'
import type { Connection, Transport } from '../ports/transport'
import type { Message, NodeId } from '../raft/types'
import { encodeFrame, encodeRaftFrame, messageBytes, PROTOCOL_VERSION } from './protocol'

export interface PeerLinksOptions {
  selfId: NodeId
  peers: ReadonlyMap<NodeId, string>
  transport: Transport
  clock: Clock
  token: string
  /** A frame is closed once its estimated size passes this; Raft bounds single messages itself. */
  frameBytesTarget: number
  /** Above this many bytes queued on a connection, frames are dropped (Raft retransmits). */
  bufferedBytesMax: number
  /** Frames kept while a connection is being opened; beyond it the oldest are dropped. */
  pendingFramesMax: number
  reconnectDelayMs: number
  /** Raft should know a peer missed messages so it probes instead of pipelining blindly. */
  onUnreachable: (peer: NodeId, groupIds: ReadonlySet<string>) => void
}

interface OutgoingBatch {
  /** Messages by group, encoded at flush (raft-wire.ts): entry data is copied once, into the frame. */
  groups: Map<string, Message[]>
  bytesEstimate: number
}

interface Link {
  peer: NodeId
  address: string
  connection: Connection | undefined
  connecting: boolean
  retryAtMs: number
  /** Frames waiting for the connection, each with the groups it carries. */
  pending: Array<{ frame: Uint8Array; groupIds: Set<string> }>
}

/**
 * Outgoing peer traffic: the messages every group has for one peer at one moment are sent as
 * one binary frame (or a few, by size). One outbound connection
 * per peer, opened lazily and reopened after a delay; inbound connections only receive.
 */
export class PeerLinks {
  readonly #options: PeerLinksOptions
  readonly #links = new Map<NodeId, Link>()
  readonly #outgoing = new Map<NodeId, OutgoingBatch[]>()
  #closed = false
  framesSent = 0
  messagesSent = 0
  framesDropped = 0

  constructor(options: PeerLinksOptions) {
    this.#options = options
    for (const [peer, address] of options.peers) {
      if (peer === options.selfId) continue
      this.#links.set(peer, {
        peer,
        address,
        connection: undefined,
        connecting: false,
        retryAtMs: 0,
        pending: [],
      })
    }
  }

  /** Queues a message for the node hosting its recipient replica; nothing is sent before {@link flush}. */
  enqueue(groupId: string, message: Message): void {
    const peer = nodeOfReplica(message.to)
    if (this.#closed || !this.#links.has(peer)) return
    let batches = this.#outgoing.get(peer)
    if (batches === undefined) {
      batches = []
      this.#outgoing.set(peer, batches)
    }
    let batch = batches[batches.length - 1]
    if (batch === undefined || batch.bytesEstimate >= this.#options.frameBytesTarget) {
      batch = { groups: new Map(), bytesEstimate: 0 }
      batches.push(batch)
    }
    let list = batch.groups.get(groupId)
    if (list === undefined) {
      list = []
      batch.groups.set(groupId, list)
    }
    list.push(message)
    batch.bytesEstimate += messageBytes(message)
  }

  /** Sends everything queued: one frame per peer per size budget. */
  flush(): void {
    for (const [peer, batches] of this.#outgoing) {
      const link = this.#links.get(peer)
      if (link === undefined) continue
      for (const batch of batches) {
        const groupIds = new Set(batch.groups.keys())
        for (const list of batch.groups.values()) this.messagesSent += list.length
        this.#send(link, encodeRaftFrame(batch.groups), groupIds)
      }
    }
    this.#outgoing.clear()
  }

  #send(link: Link, frame: Uint8Array, groupIds: Set<string>): void {
    const connection = link.connection
    if (connection !== undefined && !connection.closed) {
      if (connection.bufferedBytes > this.#options.bufferedBytesMax || !this.#write(connection, frame)) {
        this.#drop(link, groupIds)
      }
      return
    }
    link.pending.push({ frame, groupIds })
    while (link.pending.length > this.#options.pendingFramesMax) {
      const dropped = link.pending.shift()
      if (dropped !== undefined) this.#drop(link, dropped.groupIds)
    }
    this.#connect(link)
  }

  #write(connection: Connection, frame: Uint8Array): boolean {
    // send() returning false only means "over the high-water mark": the frame is queued.
    connection.send(frame)
    if (connection.closed) return false
    this.framesSent++
    return true
  }

  #drop(link: Link, groupIds: ReadonlySet<string>): void {
    this.framesDropped++
    this.#options.onUnreachable(link.peer, groupIds)
  }

  #connect(link: Link): void {
    if (link.connecting || this.#closed) return
    const now = this.#options.clock.now()
    if (now < link.retryAtMs) return
    link.connecting = true
    this.#options.transport.connect(link.address).then(
      (connection) => {
        link.connecting = false
        if (this.#closed) {
          connection.close()
          return
        }
        connection.send(
          encodeFrame({
            kind: 'hello',
            version: PROTOCOL_VERSION,
            role: 'peer',
            nodeId: this.#options.selfId,
            token: this.#options.token,
          }),
        )
        // Peers answer on their own outbound connection; anything arriving here is ignored.
        connection.on('close', () => {
          if (link.connection === connection) link.connection = undefined
        })
        link.connection = connection
        const pending = link.pending
        link.pending = []
        for (const p of pending) this.#send(link, p.frame, p.groupIds)
      },
      () => {
        link.connecting = false
        link.retryAtMs = this.#options.clock.now() + this.#options.reconnectDelayMs
        const pending = link.pending
        link.pending = []
        for (const p of pending) this.#drop(link, p.groupIds)
      },
    )
  }

  /** Closes every outbound connection; later sends are dropped. */
  close(): void {
    this.#closed = true
    this.#outgoing.clear()
    for (const link of this.#links.values()) {
      link.pending = []
      link.connection?.close()
      link.connection = undefined
    }
  }

  /**
   * Adds a peer learned at run time (a member that joined), or points a known one at a new
   * address (its connection is reopened there).
   */
  setPeer(peer: NodeId, address: string): void {
    if (peer === this.#options.selfId || this.#closed) return
    const link = this.#links.get(peer)
    if (link === undefined) {
      this.#links.set(peer, {
        peer,
        address,
        connection: undefined,
        connecting: false,
        retryAtMs: 0,
        pending: [],
      })
      return
    }
    if (link.address === address) return
    link.address = address
    link.connection?.close()
    link.connection = undefined
    link.retryAtMs = 0
  }

  /** Closes the link to one peer (used when that peer restarts). */
  reset(peer: NodeId): void {
    const link = this.#links.get(peer)
    if (link === undefined) return
    link.connection?.close()
    link.connection = undefined
    link.retryAtMs = 0
  }
}
