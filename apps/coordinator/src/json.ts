import { DroverError, MAX_JSON_BYTES } from "@drover/protocol";

/**
 * JSON text of a user-given value, refused (never a 500) when it is over the size limit or
 * nested so deeply that serialising it overflows the stack.
 */
export function userJson(value: unknown, field: string): string {
  let text: string;
  try {
    text = JSON.stringify(value ?? null);
  } catch (cause) {
    if (cause instanceof RangeError) {
      throw new DroverError("PAYLOAD_INVALID", `${field}: nested too deeply`, { details: { field }, cause });
    }
    throw new DroverError("PAYLOAD_INVALID", `${field}: not serialisable as JSON`, { details: { field }, cause });
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_JSON_BYTES) {
    throw new DroverError("PAYLOAD_TOO_LARGE", `${field}: ${bytes} bytes of JSON, over the ${MAX_JSON_BYTES}-byte limit; put big data in storage and pass its URL`, {
      details: { field },
    });
  }
  return text;
}
