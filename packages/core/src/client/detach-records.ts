import type { Delivery, ReadResult, WireRecord } from '../node/protocol'

/**
 * In-process answers carry records whose bytes are views into the node's own log (its entry
 * cache, and with memory-level the stored values themselves). An application that changes a
 * message's bytes in place (unmasking, decrypting into the same buffer) would change the log
 * under every other reader. The local channel hands out copies instead: one buffer per answer,
 * with each record's key, value and header values as views into it, as a remote answer's are
 * views into its frame.
 */
export function detachRead(result: ReadResult): ReadResult {
  const records = result.records
  if (records.length === 0) return result
  const copier = new BytesCopier(records)
  return { ...result, records: records.map((record) => ({ ...copier.copy(record), offset: record.offset })) }
}

export function detachDeliveries(deliveries: Delivery[]): Delivery[] {
  if (deliveries.length === 0) return deliveries
  const copier = new BytesCopier(deliveries.map((delivery) => delivery.record))
  return deliveries.map((delivery) => ({ ...delivery, record: copier.copy(delivery.record) }))
}

/** Copies the bytes of a known set of records into one buffer sized for all of them. */
class BytesCopier {
  readonly #buffer: Uint8Array
  #at = 0

  constructor(records: readonly WireRecord[]) {
    let bytes = 0
    for (const record of records) {
      bytes += record.value.length + (record.key?.length ?? 0)
      for (const name in record.headers) bytes += record.headers[name]!.length
    }
    this.#buffer = new Uint8Array(bytes)
  }

  /** A new record (the original may be shared, for example by the leader's recent window). */
  copy(record: WireRecord): WireRecord {
    const headers: Record<string, Uint8Array> = {}
    for (const name in record.headers) headers[name] = this.#take(record.headers[name]!)
    return {
      key: record.key === null ? null : this.#take(record.key),
      value: this.#take(record.value),
      headers,
      timestampMs: record.timestampMs,
    }
  }

  #take(bytes: Uint8Array): Uint8Array {
    const view = this.#buffer.subarray(this.#at, this.#at + bytes.length)
    view.set(bytes)
    this.#at += bytes.length
    return view
  }
}
