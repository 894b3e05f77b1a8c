import { StorageError, type Storage, type StorageErrorKind } from "../src/index.ts";

/** The kind of StorageError a call fails with, or "no error". */
export async function kindOf(promise: Promise<unknown>): Promise<StorageErrorKind | "no error"> {
  try {
    await promise;
    return "no error";
  } catch (error) {
    if (error instanceof StorageError) return error.kind;
    throw error;
  }
}

/** Every key listed under a prefix. */
export async function keysOf(storage: Storage, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of storage.list(prefix)) keys.push(entry.key);
  return keys;
}
