// AbortSignals for S3 commands without send() options.
//
// Why: the SDK resolves a command's middleware stack on every send (a copy and sort of some
// twenty middlewares, about a tenth of the client's CPU per small object), unless the client
// has `cacheMiddleware` and the send has no options. An AbortSignal is a send option. So the
// signal goes beside the command instead: `signalled` puts it on the command's input, a
// middleware at the innermost step (where the HTTP request is final, one per attempt) files
// it under that request, and the request handler passes it to NodeHttpHandler, which aborts
// the request in flight as it did with the option.
import type { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/**
 * Where a command's input carries its signal. A symbol key, so no serializer sends it, and
 * enumerable, so it survives the SDK's copies of the input (`{ ...input }`) on the way down.
 */
const SIGNAL = Symbol("drover.abortSignal");
const signalOfRequest = new WeakMap<object, AbortSignal>();

/** `command`, with `signal` to abort its requests (send it with no options). */
export function signalled<C extends { input: object }>(command: C, signal: AbortSignal | undefined): C {
  if (signal !== undefined) (command.input as { [SIGNAL]?: AbortSignal })[SIGNAL] = signal;
  return command;
}

/** NodeHttpHandler that aborts a request whose command was `signalled`. */
export class SignalPassingHandler extends NodeHttpHandler {
  override handle(request: Parameters<NodeHttpHandler["handle"]>[0], options: Parameters<NodeHttpHandler["handle"]>[1] = {}): ReturnType<NodeHttpHandler["handle"]> {
    const signal = signalOfRequest.get(request);
    return super.handle(request, signal === undefined || options.abortSignal !== undefined ? options : { ...options, abortSignal: signal });
  }
}

/** Adds the middleware that hands each request its command's signal (once per client). */
export function passSignals(client: S3Client): void {
  client.middlewareStack.add(
    (next) => (args) => {
      const signal = (args.input as { [SIGNAL]?: AbortSignal } | undefined)?.[SIGNAL];
      if (signal !== undefined) signalOfRequest.set(args.request as object, signal);
      return next(args);
    },
    { step: "deserialize", priority: "low", name: "droverPassSignal" },
  );
}
