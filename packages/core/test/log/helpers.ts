import type { Entry } from '../../src/raft/types'

/** Entries [from, to] of `term`, each with `dataBytes` bytes of data derived from its index. */
export function makeEntries(from: number, to: number, term: number, dataBytes = 16): Entry[] {
  const entries: Entry[] = []
  for (let index = from; index <= to; index++) {
    const data = new Uint8Array(dataBytes)
    for (let i = 0; i < dataBytes; i++) data[i] = (index * 7 + i) & 0xff
    entries.push({ index, term, type: 'normal', data })
  }
  return entries
}

/** Catches a thrown or rejected error. */
export async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}
