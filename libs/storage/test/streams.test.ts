// webFromNode and toNodeReadable: a web stream over a Node Readable that hands the Readable
// back while untouched (so a download does not wrap twice), and behaves as a web stream else.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { toNodeReadable, webFromNode } from "../src/streams.ts";

const chunks = (): Buffer[] => [Buffer.from("abc"), Buffer.from("def"), Buffer.from("g")];

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) text += Buffer.from(chunk).toString();
  return text;
}

describe("webFromNode", () => {
  it("reads what the Readable holds, and only when asked", async () => {
    let pulled = 0;
    const source = chunks();
    const node = new Readable({
      read() {
        pulled++;
        this.push(source.shift() ?? null);
      },
    });
    const web = webFromNode(node);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pulled).toBe(0); // nothing read before a reader asks
    expect(await readAll(web)).toBe("abcdefg");
  });

  it("hands back the untouched Readable, and wraps a stream that was read", async () => {
    const node = Readable.from(chunks());
    const web = webFromNode(node);
    expect(toNodeReadable(web)).toBe(node);
    // Taken back once: a second call must not hand the same Readable out again.
    expect(toNodeReadable(web)).not.toBe(node);

    const read = webFromNode(Readable.from(chunks()));
    const reader = read.getReader();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe("abc");
    reader.releaseLock();
    const rest = toNodeReadable(read);
    let text = "";
    for await (const chunk of rest) text += Buffer.from(chunk as Uint8Array).toString();
    expect(text).toBe("defg"); // no byte lost or read twice across the switch
  });

  it("passes the Readable's error to the web reader", async () => {
    const node = new Readable({
      read() {
        this.destroy(new Error("disk on fire"));
      },
    });
    await expect(readAll(webFromNode(node))).rejects.toThrow("disk on fire");
  });

  it("destroys the Readable when the web side is cancelled or the signal aborts", async () => {
    const node = Readable.from(chunks());
    const web = webFromNode(node);
    await web.cancel(new Error("not needed"));
    expect(node.destroyed).toBe(true);

    const controller = new AbortController();
    const handed = toNodeReadable(webFromNode(new Readable({ read() {} })), controller.signal);
    const failed = new Promise<Error>((resolve) => handed.once("error", resolve));
    controller.abort();
    expect((await failed).name).toBe("AbortError");
    expect(handed.destroyed).toBe(true);
  });
});
