import type { JobTypeSpec } from "@drover/jobs";
import { DroverError, describeZodError } from "@drover/protocol";
import type { ZodError } from "zod";

/**
 * The job types this coordinator validates payloads for. A submit of an unknown type is
 * refused unless `acceptUnknown` (then the worker that runs it is the only judge).
 */
export class JobTypeRegistry {
  private readonly specs = new Map<string, JobTypeSpec>();

  constructor(
    specs: readonly JobTypeSpec[],
    readonly acceptUnknown: boolean,
  ) {
    for (const spec of specs) this.specs.set(spec.name, spec);
  }

  get(name: string): JobTypeSpec | undefined {
    return this.specs.get(name);
  }

  names(): string[] {
    return [...this.specs.keys()];
  }

  /** Returns the payload as the type's schema parses it (defaults filled in). */
  validatePayload(type: string, payload: unknown, where: string): unknown {
    const spec = this.specs.get(type);
    if (!spec) {
      if (this.acceptUnknown) return payload;
      throw new DroverError("UNKNOWN_JOB_TYPE", `${where}type: unknown job type '${type}' (known: ${this.names().join(", ")})`, {
        details: { field: `${where}type` },
      });
    }
    const parsed = spec.payload.safeParse(payload);
    if (!parsed.success) {
      const text = describeZodError(parsed.error as ZodError).replace(/(^|; )/g, `$1${where}payload.`).replace(/\.\(input\)/g, "");
      throw new DroverError("PAYLOAD_INVALID", `payload for '${type}' is invalid: ${text}`, { details: { field: `${where}payload` } });
    }
    return parsed.data;
  }
}
