/**
 * Per-key ordering for the dispatcher: which key each offset carries, and which member holds
 * a key while messages with it are in flight. A key held by one member is never handed to
 * another until all its in-flight messages are acked, nacked, timed out or lost.
 *
 * Keys are known contiguously for [.., knownEnd); the node supplies them (as records are
 * applied, or read back from the log after an election: see {@link KeyLocks.needed}).
 * Bounded: keys are stored only for offsets inside the ack window, and forgotten once handled.
 */
export class KeyLocks {
  readonly #keys = new Map<number, string | null>()
  readonly #owners = new Map<string, { memberId: string; inFlight: number }>()
  #knownEnd: number

  constructor(knownEnd: number) {
    this.#knownEnd = knownEnd
  }

  get knownEnd(): number {
    return this.#knownEnd
  }

  /** Learn keys for offsets from `baseOffset`, extending the contiguous known range up to `limit`. */
  learn(baseOffset: number, keys: readonly (Uint8Array | null)[], limit: number): void {
    for (let i = this.#knownEnd - baseOffset; i < keys.length && this.#knownEnd < limit; i++) {
      if (i < 0) return // a gap before these keys: the node must supply from knownEnd first
      const key = keys[i]
      this.#keys.set(this.#knownEnd, key === null || key === undefined ? null : keyId(key))
      this.#knownEnd++
    }
  }

  /** Offsets below `offset` need no key any more (handled, or all keys start from here). */
  skipTo(offset: number): void {
    if (offset > this.#knownEnd) this.#knownEnd = offset
  }

  /** True when `offset` may go to `memberId` now. */
  assignable(offset: number, memberId: string): boolean {
    const key = this.#keys.get(offset)
    if (key === null || key === undefined) return true
    const owner = this.#owners.get(key)
    return owner === undefined || owner.memberId === memberId
  }

  onDelivered(offset: number, memberId: string): void {
    if (this.#keys.size === 0) return // no per-key ordering: nothing to look up per message
    const key = this.#keys.get(offset)
    if (key === null || key === undefined) return
    const owner = this.#owners.get(key)
    if (owner === undefined) this.#owners.set(key, { memberId, inFlight: 1 })
    else owner.inFlight++
  }

  /** The in-flight message at `offset` ended (acked, nacked, timed out, lost). */
  onReleased(offset: number): void {
    if (this.#keys.size === 0) return
    const key = this.#keys.get(offset)
    if (key === null || key === undefined) return
    const owner = this.#owners.get(key)
    if (owner !== undefined && --owner.inFlight === 0) this.#owners.delete(key)
  }

  /** The offset will never be delivered again. */
  forget(offset: number): void {
    if (this.#keys.size > 0) this.#keys.delete(offset)
  }

  /** Forget every offset below `offset`. */
  forgetBelow(offset: number): void {
    for (const known of this.#keys.keys()) if (known < offset) this.#keys.delete(known)
  }
}

/** A Map key for key bytes: one UTF-16 unit per byte (exact, unlike a text decode). */
function keyId(key: Uint8Array): string {
  let id = ''
  for (let i = 0; i < key.length; i += 4096) {
    id += String.fromCharCode(...key.subarray(i, i + 4096))
  }
  return id
}
