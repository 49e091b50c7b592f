/**
 * The Transport port. Peer (Raft) and client traffic share it; a handshake frame at the
 * start of each connection tells them apart and carries authentication.
 * Frames are opaque bytes: records stay bytes end to end.
 */
export interface Transport {
  /** Accept connections at `address` (e.g. "127.0.0.1:7101", or any name for in-memory). */
  listen(address: string, onConnection: (connection: Connection) => void): Promise<Listener>
  /** Open a connection to `address`; rejects with CONNECTION_CLOSED when unreachable. */
  connect(address: string): Promise<Connection>
}

export interface Listener {
  readonly address: string
  close(): Promise<void>
}

export interface ConnectionEvents {
  message: (frame: Uint8Array) => void
  /** Emitted once, after which no message is delivered. */
  close: (error?: Error) => void
  /** Buffered frames were flushed: sending may resume after `send` returned false. */
  drain: () => void
}

export interface Connection {
  readonly remoteAddress: string
  /**
   * Queue one frame. Returns false when the connection's buffer is over its high-water mark:
   * the caller should wait for `drain`. A closed connection drops the frame and returns false.
   * The frame belongs to the connection once sent: the caller must not modify it afterwards
   * (a transport may queue it or hand it to the receiver without copying), and a receiver must
   * not modify the frames it is given.
   */
  send(frame: Uint8Array): boolean
  /** Bytes queued but not yet handed to the network. */
  readonly bufferedBytes: number
  close(): void
  readonly closed: boolean
  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this
  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this
}
