export const packageName = '@laminar-ts/storage-level'
