/**
 * Per-offset slots for the offsets a dispatcher tracks, [floor, floor + capacity): a handled flag
 * and the in-flight entry of each offset, kept in rings indexed by `offset & mask`. Every access
 * is an array index, not a hash lookup: the consume path marks each message in flight and then
 * handled, tens of thousands of times a second.
 *
 * The rings start small and double up to `capacityMax` (the group's ack window), so an idle group
 * costs little; the entry ring exists only once an entry is set (a replica's group state needs
 * only the flags). Invariants: no slot below the floor is set (the floor only moves over handled
 * offsets, clearing them, or by {@link AckWindow.raiseFloor}, which clears what it passes); a slot
 * belongs to exactly one offset in [floor, floor + capacity).
 */
export class AckWindow<Entry> {
  #floor: number
  #mask: number
  #handled: Uint8Array
  #handledCount = 0
  #entries: Array<Entry | undefined> | undefined
  readonly #capacityMax: number

  constructor(floor: number, capacityMax: number, capacityInitial = 1024) {
    if ((capacityMax & (capacityMax - 1)) !== 0) throw new RangeError('capacityMax must be a power of two')
    const capacity = Math.min(capacityInitial, capacityMax)
    this.#floor = floor
    this.#mask = capacity - 1
    this.#handled = new Uint8Array(capacity)
    this.#capacityMax = capacityMax
  }

  /** Every offset below is handled. */
  get floor(): number {
    return this.#floor
  }

  /** Handled offsets above the floor. */
  get handledCount(): number {
    return this.#handledCount
  }

  /** True when `offset` lies in the window's reach: [floor, floor + capacityMax). */
  inWindow(offset: number): boolean {
    return offset >= this.#floor && offset - this.#floor < this.#capacityMax
  }

  isHandled(offset: number): boolean {
    return this.#fits(offset) && this.#handled[offset & this.#mask] === 1
  }

  /**
   * Marks `offset` (inside the window) handled, then moves the floor over contiguous handled
   * offsets. Returns false when it was handled already.
   */
  markHandled(offset: number): boolean {
    if (!this.#fits(offset)) this.#grow(offset)
    if (this.#handled[offset & this.#mask] === 1) return false
    this.#handled[offset & this.#mask] = 1
    this.#handledCount++
    this.#advance()
    return true
  }

  /** Handled offsets above the floor, ascending (a walk over the window: for snapshots). */
  handledOffsets(): number[] {
    const out: number[] = []
    for (let offset = this.#floor; offset <= this.#floor + this.#mask; offset++) {
      if (this.#handled[offset & this.#mask] === 1) out.push(offset)
    }
    return out
  }

  get(offset: number): Entry | undefined {
    return this.#entries !== undefined && this.#fits(offset) ? this.#entries[offset & this.#mask] : undefined
  }

  /** Sets the entry of `offset` (inside the window). */
  set(offset: number, entry: Entry): void {
    if (!this.#fits(offset)) this.#grow(offset)
    this.#entries ??= new Array<Entry | undefined>(this.#mask + 1).fill(undefined)
    this.#entries[offset & this.#mask] = entry
  }

  delete(offset: number): void {
    if (this.#entries !== undefined && this.#fits(offset)) this.#entries[offset & this.#mask] = undefined
  }

  /** Entries of offsets in [from, to), ascending (a bounded walk: for rare operations). */
  *entries(from: number, to: number): Generator<[number, Entry]> {
    const entries = this.#entries
    if (entries === undefined) return
    const end = Math.min(to, this.#floor + this.#mask + 1)
    for (let offset = Math.max(from, this.#floor); offset < end; offset++) {
      const entry = entries[offset & this.#mask]
      if (entry !== undefined) yield [offset, entry]
    }
  }

  /**
   * Moves the floor up to `floor` (retention dropped what lies below), clearing the slots it
   * passes; callers end their in-flight entries there first.
   */
  raiseFloor(floor: number): void {
    if (floor <= this.#floor) return
    const end = Math.min(floor, this.#floor + this.#mask + 1)
    for (let offset = this.#floor; offset < end; offset++) {
      if (this.#handled[offset & this.#mask] === 1) this.#handledCount--
      this.#handled[offset & this.#mask] = 0
      if (this.#entries !== undefined) this.#entries[offset & this.#mask] = undefined
    }
    this.#floor = floor
    this.#advance()
  }

  #advance(): void {
    const handled = this.#handled
    const mask = this.#mask
    let floor = this.#floor
    while (handled[floor & mask] === 1) {
      handled[floor & mask] = 0
      floor++
    }
    this.#handledCount -= floor - this.#floor
    this.#floor = floor
  }

  #fits(offset: number): boolean {
    return offset >= this.#floor && offset - this.#floor <= this.#mask
  }

  /** Grows the rings (doubling) until `offset` has a slot. */
  #grow(offset: number): void {
    if (!this.inWindow(offset)) throw new RangeError(`offset ${offset} is outside the ack window`)
    let capacity = this.#mask + 1
    while (offset - this.#floor >= capacity) capacity *= 2
    const mask = capacity - 1
    const handled = new Uint8Array(capacity)
    const old = this.#entries
    const entries = old === undefined ? undefined : new Array<Entry | undefined>(capacity).fill(undefined)
    for (let at = this.#floor; at <= this.#floor + this.#mask; at++) {
      handled[at & mask] = this.#handled[at & this.#mask]!
      if (entries !== undefined) entries[at & mask] = old![at & this.#mask]
    }
    this.#mask = mask
    this.#handled = handled
    this.#entries = entries
  }
}
