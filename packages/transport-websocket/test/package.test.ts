import { describe, expect, it } from 'vitest'
import { packageName } from '../src/index'

describe('@laminar-ts/transport-websocket', () => {
  it('resolves from source in the workspace', () => {
    expect(packageName).toBe('@laminar-ts/transport-websocket')
  })
})
