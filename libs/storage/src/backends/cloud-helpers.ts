/**
 * Small pieces the object-store backends (s3.ts, gcs.ts) share: looking ahead into a write
 * stream to pick a one-request or a multipart upload, making a stream stop when a signal
 * fires, and running deletes a few at a time.
 */

/** Either the whole stream (it ended within the limit) or a stream that replays what was read. */
export type Head =
  | { readonly complete: true; readonly data: Uint8Array }
  | { readonly complete: false; readonly stream: ReadableStream<Uint8Array> };

/**
 * Reads up to `limit` bytes (plus one chunk) of `stream`. If it ends by then the caller gets
 * the bytes and can send them in one request, with their sha256 known in advance; else a
 * stream that yields the bytes read so far and then the rest. An error of `stream` while
 * reading the head (a checksum found wrong at its end, an abort) is thrown from here, before
 * anything was sent.
 */
export async function readHead(stream: ReadableStream<Uint8Array>, limit: number): Promise<Head> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size <= limit) {
      const { done, value } = await reader.read();
      if (done) return { complete: true, data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) };
      chunks.push(value);
      size += value.byteLength;
    }
  } catch (error) {
    reader.releaseLock();
    throw error;
  }
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffered = chunks.shift();
      if (buffered !== undefined) {
        controller.enqueue(buffered);
        return;
      }
      // An error here (the source's) rejects pull, which errors this stream: the consumer
      // sees it instead of an end, so it never completes the upload.
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { complete: false, stream: rest };
}

/** A stream that errors with the signal's reason when it fires, even if the source stalls. */
export function untilAborted(stream: ReadableStream<Uint8Array>, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  if (signal === undefined) return stream;
  return stream.pipeThrough(new TransformStream<Uint8Array, Uint8Array>(), { signal });
}

/**
 * Bytes [offset, offset + length) of a whole-object stream: for servers that answer a
 * ranged GET with 200 and the whole object, as HTTP allows (the GCS emulator does when
 * the range starts past the end).
 */
export function sliceStream(stream: ReadableStream<Uint8Array>, offset: number, length?: number): ReadableStream<Uint8Array> {
  let position = 0;
  const end = length === undefined ? Infinity : offset + length;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const from = Math.max(offset - position, 0);
        const to = Math.min(end - position, chunk.byteLength);
        position += chunk.byteLength;
        if (to > from) controller.enqueue(chunk.subarray(from, to));
      },
    }),
  );
}

/** "\"abc\"" → "abc": S3 and GCS quote ETags; callers compare them bare. */
export function unquote(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : etag.replace(/^"(.*)"$/, "$1");
}
