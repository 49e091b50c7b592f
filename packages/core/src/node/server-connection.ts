import { LaminarError } from '../errors/laminar-error'
import type { Connection } from '../ports/transport'
import {
  type ClientRequest,
  type ConnectionRole,
  decodeFrame,
  encodeFrame,
  PROTOCOL_VERSION,
  type RaftFrame,
  toWireError,
} from './protocol'

export interface ServerConnectionOptions {
  connection: Connection
  token: string
  frameBytesMax: number
  /** Requests served at once on this connection; more are answered BUFFER_FULL. */
  inFlightMax: number
  onRaft: (frame: RaftFrame) => void
  onRequest: (request: ClientRequest, memberships: Set<string>) => Promise<unknown>
  onClose: (connection: ServerConnection) => void
}

/**
 * A connection accepted by a node. The first frame must be `hello`: it fixes the role (peer or
 * client) and is checked against the node's token. Undecodable frames, frames of the wrong
 * role and a bad hello close the connection.
 */
export class ServerConnection {
  readonly #options: ServerConnectionOptions
  #role: ConnectionRole | undefined
  #inFlight = 0
  /** Consumer memberships (group/partition/member keys) opened over this connection. */
  readonly memberships = new Set<string>()

  constructor(options: ServerConnectionOptions) {
    this.#options = options
    options.connection.on('message', (bytes) => this.#onFrame(bytes))
    options.connection.on('close', () => options.onClose(this))
  }

  get role(): ConnectionRole | undefined {
    return this.#role
  }

  close(): void {
    this.#options.connection.close()
  }

  #onFrame(bytes: Uint8Array): void {
    let frame: ReturnType<typeof decodeFrame>
    try {
      frame = decodeFrame(bytes, this.#options.frameBytesMax)
    } catch {
      this.close()
      return
    }
    if (this.#role === undefined) {
      if (frame.kind !== 'hello') {
        // No hello first (lost or never sent): close, so the client reconnects and retries.
        this.close()
        return
      }
      if (frame.version !== PROTOCOL_VERSION) {
        this.#refuse(
          new LaminarError(
            'INVALID_ARGUMENT',
            `expected a hello frame of protocol version ${PROTOCOL_VERSION}`,
          ),
        )
        return
      }
      if (this.#options.token !== '' && frame.token !== this.#options.token) {
        this.#refuse(new LaminarError('UNAUTHORIZED', 'bad token'))
        return
      }
      this.#role = frame.role
      return
    }
    if (this.#role === 'peer') {
      if (frame.kind === 'raft') this.#options.onRaft(frame)
      return
    }
    if (frame.kind !== 'request') return
    const { id, request } = frame
    if (this.#inFlight >= this.#options.inFlightMax) {
      this.#respondError(
        id,
        new LaminarError('BUFFER_FULL', `${this.#options.inFlightMax} requests in flight on this connection`),
      )
      return
    }
    this.#inFlight++
    this.#options.onRequest(request, this.memberships).then(
      (result) => {
        this.#inFlight--
        this.#options.connection.send(encodeFrame({ kind: 'response', id, ok: true, result: result ?? null }))
      },
      (error) => {
        this.#inFlight--
        this.#respondError(id, error)
      },
    )
  }

  #respondError(id: number, error: unknown): void {
    this.#options.connection.send(encodeFrame({ kind: 'response', id, ok: false, error: toWireError(error) }))
  }

  #refuse(error: LaminarError): void {
    this.#respondError(0, error)
    this.close()
  }
}
