export const packageName = '@laminar-ts/transport-memory'
