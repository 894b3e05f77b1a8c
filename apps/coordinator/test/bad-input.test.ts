import { isDroverErrorCode } from "@drover/protocol";
import { beforeAll, afterAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestCoordinator, type TestCoordinator } from "./helpers.ts";
import { PROCEDURES, VALID_INPUT, errorData, rawCall, type RawAnswer } from "./procedures.ts";
import { failureOf } from "./support.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** A value of another JSON type than `v`. */
function wrongTypeOf(v: Json): Json {
  if (Array.isArray(v)) return { not: "an array" };
  if (v === null) return 7;
  switch (typeof v) {
    case "number":
      return String(v);
    case "string":
      return 12;
    case "boolean":
      return "true";
    default:
      return ["not", "an", "object"];
  }
}

/** Every path in `v` (objects and arrays too, not just leaves), outermost first. */
function paths(v: Json, at: Path = []): Path[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...at, i], ...paths(x, [...at, i])]);
  if (v !== null && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
  return [];
}

/** A deep copy of `v` with the value at `path` replaced (`undefined` deletes an object key). */
function withAt(v: Json, path: Path, value: Json | undefined): Json {
  const copy = structuredClone(v);
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** A refusal: 4xx, a JSON tRPC error, and a known Drover code. */
function expectRefusal(answer: RawAnswer, what: string): { droverCode?: string; httpStatus?: number } {
  expect(answer.status, what).toBeGreaterThanOrEqual(400);
  expect(answer.status, what).toBeLessThan(500);
  expect(answer.json, `${what}: JSON answer`).toBe(true);
  const data = errorData(answer);
  expect(isDroverErrorCode(data?.droverCode), `${what}: droverCode ${String(data?.droverCode)}`).toBe(true);
  expect(data?.httpStatus, what).toBe(answer.status);
  return data!;
}

const withInput = PROCEDURES.filter((p) => p.input !== undefined);
const withoutInput = PROCEDURES.filter((p) => p.input === undefined);

describe("bad input: 4xx with error.data.droverCode, never 5xx", () => {
  let t: TestCoordinator;
  const call = (path: string, body: string | undefined, contentType?: string) =>
    rawCall(t.coordinator.url, path, { body, token: ADMIN_TOKEN, ...(contentType ? { contentType } : {}) });

  beforeAll(async () => {
    t = await startTestCoordinator();
  });
  afterAll(async () => {
    // The coordinator must have survived everything thrown at it.
    expect((await t.client().system.health.query()).ok).toBe(true);
    await t[Symbol.asyncDispose]();
  });

  it("every procedure that takes input has a valid example input, and the example passes its schema", () => {
    expect(withInput.map((p) => p.path).sort()).toEqual(Object.keys(VALID_INPUT).sort());
    for (const p of withInput) expect(p.input!.safeParse(VALID_INPUT[p.path]).success, p.path).toBe(true);
  });

  it("a wrong type anywhere in the input → 400 naming the field", async () => {
    for (const p of withInput) {
      const valid = VALID_INPUT[p.path] as Json;
      for (const path of paths(valid)) {
        const at = path.join(".");
        const mutated = withAt(valid, path, wrongTypeOf(path.reduce<Json>((n, k) => (n as Record<string | number, Json>)[k]!, valid)));
        const answer = await call(p.path, JSON.stringify(mutated));
        const data = expectRefusal(answer, `${p.path} ${at}`);
        expect(answer.status, `${p.path} ${at}`).toBe(400);
        expect(["INVALID_INPUT", "PAYLOAD_INVALID"], `${p.path} ${at}`).toContain(data.droverCode);
        expect((answer.body as { error: { message: string } }).error.message, `${p.path} ${at}`).toContain(at);
      }
    }
  });

  it("a missing required field → 400 INVALID_INPUT naming the field", async () => {
    let required = 0;
    for (const p of withInput) {
      const valid = VALID_INPUT[p.path] as Json;
      for (const path of paths(valid).filter((x) => typeof x[x.length - 1] === "string")) {
        const mutated = withAt(valid, path, undefined);
        if (p.input!.safeParse(mutated).success) continue; // optional or defaulted
        required++;
        const at = path.join(".");
        const answer = await call(p.path, JSON.stringify(mutated));
        const data = expectRefusal(answer, `${p.path} without ${at}`);
        expect(answer.status).toBe(400);
        expect(data.droverCode).toBe("INVALID_INPUT");
        expect((answer.body as { error: { message: string } }).error.message).toContain(at);
      }
    }
    expect(required).toBeGreaterThan(20);
  });

  it("an unknown extra field → 400 INVALID_INPUT at the top level of every input (inputs are strict objects)", async () => {
    for (const p of withInput) {
      const answer = await call(p.path, JSON.stringify({ ...VALID_INPUT[p.path], sneaky: true }));
      const data = expectRefusal(answer, p.path);
      expect(answer.status).toBe(400);
      expect(data.droverCode).toBe("INVALID_INPUT");
      expect((answer.body as { error: { message: string } }).error.message).toContain("sneaky");
    }
  });

  it("an unknown extra field in a nested object is refused wherever the schema is strict, and never causes a 5xx", async () => {
    for (const p of withInput) {
      const valid = VALID_INPUT[p.path] as Json;
      const objects = paths(valid).filter((path) => {
        const v = path.reduce<Json>((n, k) => (n as Record<string | number, Json>)[k]!, valid);
        return v !== null && typeof v === "object" && !Array.isArray(v);
      });
      for (const path of objects) {
        const node = path.reduce<Json>((n, k) => (n as Record<string | number, Json>)[k]!, valid) as Record<string, Json>;
        const mutated = withAt(valid, path, { ...node, sneaky: 1 });
        const answer = await call(p.path, JSON.stringify(mutated));
        const what = `${p.path} ${path.join(".")}.sneaky`;
        expect(answer.status, what).toBeLessThan(500);
        if (!p.input!.safeParse(mutated).success) expect(expectRefusal(answer, what).droverCode).toBe("INVALID_INPUT");
      }
    }
  });

  it("an input that is not an object (number, string, array, null, true, empty body) → 400 INVALID_INPUT", async () => {
    for (const p of withInput) {
      for (const body of ["42", '"text"', "[]", "[{}]", "null", "true", undefined]) {
        if (body === undefined && p.input!.safeParse(undefined).success) continue; // no input is a valid input
        const answer = await call(p.path, body);
        expect(expectRefusal(answer, `${p.path} ${String(body)}`).droverCode).toBe("INVALID_INPUT");
      }
    }
  });

  it("non-JSON garbage bodies → 4xx with a droverCode on every procedure that takes input", async () => {
    const garbage: [string, string][] = [
      ["{not json", "application/json"],
      ['{"id": 1', "application/json"],
      ["\u0000\u0001\u0002\u00ff", "application/json"],
      ["<xml>no</xml>", "application/json; charset=utf-8"],
      ["id=1", "application/x-www-form-urlencoded"],
      ["just text", "text/plain"],
      ["\u0000\u0001binary", "application/octet-stream"],
      ["--x\r\nnot a form", "multipart/form-data; boundary=x"],
    ];
    for (const p of withInput) {
      for (const [body, type] of garbage) expectRefusal(await call(p.path, body, type), `${p.path} ${type} ${JSON.stringify(body)}`);
    }
  });

  it("procedures that take no input answer an empty call and refuse a stray body with 400", async () => {
    expect(withoutInput).toEqual([]);
    const inputless = withInput.filter((p) => p.input!.safeParse(undefined).success && Object.keys(VALID_INPUT[p.path]!).length === 0);
    expect(inputless.map((p) => p.path).sort()).toEqual(["projects.list", "queues.list", "system.health", "system.status", "tokens.list", "workers.countersByType", "workers.list"]);
    for (const p of inputless) {
      expect((await call(p.path, undefined)).status, `${p.path} without a body`).toBe(200);
      const answer = await call(p.path, '{"extra": 1}');
      expect(expectRefusal(answer, `${p.path} extra`).droverCode).toBe("INVALID_INPUT");
    }
  });

  it("an unknown procedure → 404 NOT_FOUND", async () => {
    const data = expectRefusal(await call("jobs.nope", "{}"), "jobs.nope");
    expect(data).toMatchObject({ droverCode: "NOT_FOUND", httpStatus: 404 });
  });

  it("an unknown job type → 400 UNKNOWN_JOB_TYPE naming the type field", async () => {
    const answer = await call("jobs.submit", JSON.stringify({ type: "does.not.exist", payload: {} }));
    expect(expectRefusal(answer, "unknown type")).toMatchObject({ droverCode: "UNKNOWN_JOB_TYPE", httpStatus: 400 });
    expect((answer.body as { error: { message: string } }).error.message).toContain("does.not.exist");
    const batch = await call("jobs.submitBatch", JSON.stringify({ jobs: [{ type: "noop" }, { type: "nope" }] }));
    expect(expectRefusal(batch, "unknown type in batch").droverCode).toBe("UNKNOWN_JOB_TYPE");
    expect((batch.body as { error: { message: string } }).error.message).toContain("jobs.1.type");
  });

  it("a payload that fails its type's schema → 400 PAYLOAD_INVALID naming the field", async () => {
    for (const [payload, field] of [
      [{ command: 5 }, "payload.command"],
      [{ command: "ls", timeoutMs: -1 }, "payload.timeoutMs"],
      [{ command: "ls", args: ["a", 2] }, "payload.args.1"],
      [{}, "payload.command"],
    ] as const) {
      const answer = await call("jobs.submit", JSON.stringify({ type: "exec", payload }));
      expect(expectRefusal(answer, field)).toMatchObject({ droverCode: "PAYLOAD_INVALID", httpStatus: 400 });
      expect((answer.body as { error: { message: string } }).error.message).toContain(field);
    }
  });

  it("a payload over 1 MB of JSON → 413 PAYLOAD_TOO_LARGE", async () => {
    const answer = await call("jobs.submit", JSON.stringify({ type: "exec", payload: { command: "x", env: { BIG: "x".repeat(1_000_001) } } }));
    expect(expectRefusal(answer, "big payload")).toMatchObject({ droverCode: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    expect(await t.admin.jobs.list.query({ type: "exec" })).toMatchObject({ jobs: [] });
  });
});

describe("a request body over the server's bodyLimit", () => {
  it("is refused with 413 PAYLOAD_TOO_LARGE in the tRPC error shape (not 500), and the coordinator carries on", async () => {
    await using t = await startTestCoordinator({ bodyLimit: 64 * 1024 });
    const big = JSON.stringify({ type: "exec", payload: { command: "x", env: { BIG: "x".repeat(100_000) } } });
    for (const path of ["jobs.submit", "jobs.get", "leases.complete", "queues.list", "system.health"]) {
      const answer = await rawCall(t.coordinator.url, path, { body: big, token: ADMIN_TOKEN });
      expect(expectRefusal(answer, path)).toMatchObject({ droverCode: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    }
    // The typed client sees the code too.
    const f = await failureOf(t.admin.jobs.submit.mutate({ type: "exec", payload: { command: "x", env: { BIG: "x".repeat(100_000) } } }));
    expect(f).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    // A body under the limit still works.
    expect((await t.admin.jobs.submit.mutate({ type: "exec", payload: { command: "x", env: { SMALL: "x".repeat(10_000) } } })).deduplicated).toBe(false);
    expect((await t.client().system.health.query()).ok).toBe(true);
  });
});
