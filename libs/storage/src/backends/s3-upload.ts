import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, type PutObjectCommand, type PutObjectCommandInput, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

export interface MultipartOptions {
  partSize: number;
  queueSize: number;
  signal?: AbortSignal;
}

/**
 * A multipart upload through lib-storage's Upload, which only creates the object at
 * CompleteMultipartUpload: a body that errors (a checksum found wrong at its end, a cut
 * source) fails the upload, and Upload then aborts it (leavePartsOnError false).
 *
 * Upload sends its commands without the caller's signal and only checks its own abort flag
 * between parts; its abort() even rejects done() before the clean-up ran. So instead it gets
 * a client that adds the signal to every command (an abort fails the request in flight, and
 * Upload cleans up before done() rejects) and refuses to complete once the signal fired.
 * CreateMultipartUpload runs without the signal: cut off in flight, it could open an upload
 * on the server whose id never arrives, which then nothing would abort. AbortMultipartUpload
 * runs without it too, and its own failure is swallowed so that the caller learns why the
 * upload failed (s3rver answers it 405; on AWS a lifecycle rule for incomplete uploads reaps
 * what is left). Returns the ETag of the new object.
 */
export async function multipartUpload(
  client: S3Client,
  params: Omit<PutObjectCommandInput, "Body">,
  body: Uint8Array | ReadableStream<Uint8Array> | NodeJS.ReadableStream,
  options: MultipartOptions,
): Promise<string | undefined> {
  const { signal } = options;
  const guarded = new Proxy(client, {
    get(target, property) {
      if (property !== "send") return Reflect.get(target, property, target);
      return async (command: unknown, sendOptions?: object) => {
        if (command instanceof AbortMultipartUploadCommand) return target.send(command).catch(() => ({}));
        if (command instanceof CreateMultipartUploadCommand) return target.send(command);
        if (command instanceof CompleteMultipartUploadCommand) signal?.throwIfAborted();
        return target.send(command as PutObjectCommand, { ...sendOptions, abortSignal: signal });
      };
    },
  });
  const upload = new Upload({
    client: guarded,
    params: { ...params, Body: body as PutObjectCommandInput["Body"] },
    partSize: options.partSize,
    queueSize: options.queueSize,
    leavePartsOnError: false,
  });
  const res = await upload.done();
  return res.ETag;
}
