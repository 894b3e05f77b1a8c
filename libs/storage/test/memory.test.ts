import { describeStorage } from "./describe-storage.ts";

describeStorage("memory", async () => ({ url: "memory://conformance/root/" }));
