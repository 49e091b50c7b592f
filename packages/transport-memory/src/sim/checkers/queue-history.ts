/**
 * The produce/consume history a broker-level simulation records, in the shape of Maelstrom's
 * kafka workload: sends with their outcome, deliveries to consumer groups, stream reads, and a
 * final read of every partition after the cluster healed. Values are unique per send.
 */
export type QueueEvent =
  /**
   * A producer's send. 'ok': acknowledged with `offset`; 'failed': definitely not written
   * (rejected before any write); 'unknown': timed out or the connection dropped.
   */
  | {
      kind: 'send'
      atMs: number
      client: string
      topic: string
      partition: number
      value: string
      outcome: 'ok' | 'failed' | 'unknown'
      offset?: number
    }
  /** A consumer of `group` received these records (a delivery, possibly a redelivery). */
  | {
      kind: 'poll'
      atMs: number
      client: string
      group: string
      topic: string
      partition: number
      records: Array<{ offset: number; value: string }>
    }
  /** A stream read by offset: `records` should be every record in [fromOffset, ...). */
  | {
      kind: 'read'
      atMs: number
      client: string
      topic: string
      partition: number
      fromOffset: number
      records: Array<{ offset: number; value: string }>
    }
  /** After healing: the whole partition as the cluster now serves it. */
  | {
      kind: 'final'
      atMs: number
      topic: string
      partition: number
      records: Array<{ offset: number; value: string }>
    }
