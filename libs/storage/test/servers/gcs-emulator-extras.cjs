// Gaps in firebase-tools' storage emulator, filled in front of it for @google-cloud/storage.
// Each is small and follows the GCS JSON API; none checks credentials or signatures.
// Used by gcs-emulator-child.cjs; routes see URLs with /storage/v1 already stripped.
"use strict";

const LIMIT = "130mb"; // the emulator's own body limit
const err = (res, code, message) => res.status(code).json({ error: { code, message } });

function installExtras(app, emulator, { express, CloudStorageObjectMetadata }) {
  const { adminStorageLayer: layer, uploadService } = emulator;
  const buckets = emulator._buckets; // the emulator's bucket map, shared by its storage layers

  // Bucket get/create: GET /b/<bucket> falls through to a 404 in the emulator and POST /b is
  // taken by its form-upload route; these make bucket.exists()/getMetadata()/createBucket() work.
  app.get("/b/:bucketId", (req, res) => {
    const md = buckets.get(req.params.bucketId);
    if (md) res.json(md);
    else err(res, 404, "The specified bucket does not exist.");
  });
  app.post("/b", express.json(), (req, res, next) => {
    if (!req.is("application/json")) return next();
    const name = req.body && req.body.name;
    if (typeof name !== "string" || !name) return err(res, 400, "bucket name required");
    if (buckets.has(name)) return err(res, 409, "Your previous request to create the named bucket succeeded and you already own it.");
    layer.createBucket(name);
    res.json(buckets.get(name));
  });

  // Signed PUT: the emulator serves a signed GET (its /<bucket>/<object> download route) but
  // not a signed PUT. Keep Content-Type and x-goog-meta-* headers; the signature is not checked.
  const raw = express.raw({ type: () => true, limit: LIMIT });
  const isSigned = (req) => "X-Goog-Signature" in req.query || "x-goog-signature" in req.query;
  app.put("/:bucketId/*", (req, res, next) => (isSigned(req) ? raw(req, res, next) : next("route")), async (req, res, next) => {
    try {
      const metadata = { contentType: req.header("content-type"), metadata: {} };
      for (const [k, v] of Object.entries(req.headers)) {
        if (k.startsWith("x-goog-meta-")) metadata.metadata[k.slice(12)] = String(v);
      }
      const dataRaw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const upload = uploadService.multipartUpload({ bucketId: req.params.bucketId, objectId: req.params[0], metadata, dataRaw, authorization: "Bearer owner" });
      await layer.uploadObject(upload);
      res.status(200).end();
    } catch (e) {
      next(e);
    }
  });

  app.use(preconditions(layer));

  // Chunked resumable uploads: the emulator appends and finalises on every PUT, so an upload
  // sent in several chunks ends after the first. Intermediate chunks (Content-Range
  // "bytes a-b/*" or b+1 < total) are appended here and answered 308 with the Range received;
  // "bytes */total" status queries are answered; the final chunk goes on to the emulator.
  app.put("/upload/storage/v1/b/:bucketId/o", raw, (req, res, next) => {
    const id = typeof req.query.upload_id === "string" ? req.query.upload_id : undefined;
    const range = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(req.header("content-range") ?? "");
    if (!id || !range) return next();
    let upload;
    try {
      upload = uploadService.getResumableUpload(id);
    } catch {
      return next(); // unknown id: the emulator answers 404
    }
    const total = range[3] === "*" ? undefined : Number(range[3]);
    const received = () => (upload.size > 0 ? res.setHeader("Range", `bytes=0-${upload.size - 1}`) : res);
    if (upload.status === "finished") {
      const md = layer.getMetadata(upload.bucketId, upload.objectId);
      return md ? res.json(new CloudStorageObjectMetadata(md)) : next();
    }
    if (upload.status !== "active") return next();
    let data = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (range[1] !== undefined) {
      const first = Number(range[1]);
      if (first > upload.size) return received().status(400).json({ error: { code: 400, message: "chunk starts past the data received" } });
      data = data.subarray(upload.size - first); // a re-sent chunk overlaps what we have
    }
    if (total !== undefined && upload.size + data.length >= total) {
      req.body = data; // the last chunk: the emulator appends it and finalises
      return next();
    }
    uploadService.continueResumableUpload(id, data);
    received().status(308).end();
  });
}

// ifGenerationMatch, which the emulator ignores: a write, delete, patch or copy naming it
// gets 412 unless the target's current generation matches (0 = "must not exist"). Requests
// with a precondition on the same object are serialised, so of two concurrent creates with
// ifGenerationMatch=0 exactly one succeeds, as on GCS. A resumable upload carries it from
// the initiating POST to each PUT until one finalises it.
function preconditions(layer) {
  const tails = new Map(); // "bucket/object" -> promise that settles when the holder is done
  const pendingUploads = new Map(); // upload_id -> ifGenerationMatch from the initiating POST
  const dec = decodeURIComponent;
  function target(req) {
    let m;
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(req.path)) && typeof req.query.name === "string") {
      return { bucket: dec(m[1]), object: req.query.name };
    }
    if ((m = /^\/b\/[^/]+\/o\/[^/]+\/(?:copyTo|rewriteTo)\/b\/([^/]+)\/o\/([^/]+)$/.exec(req.path))) {
      return { bucket: dec(m[1]), object: dec(m[2]) };
    }
    if ((m = /^\/b\/([^/]+)\/o\/([^/]+)$/.exec(req.path))) return { bucket: dec(m[1]), object: dec(m[2]) };
    return undefined;
  }
  return (req, res, next) => {
    const t = target(req);
    const uploadId = typeof req.query.upload_id === "string" ? req.query.upload_id : undefined;
    const wanted = req.query.ifGenerationMatch ?? (uploadId ? pendingUploads.get(uploadId) : undefined);
    if (!t || wanted === undefined) return next();
    const key = `${t.bucket}/${t.object}`;
    const prev = tails.get(key) ?? Promise.resolve();
    let release;
    const mine = new Promise((r) => (release = r));
    const tail = prev.then(() => mine);
    tails.set(key, tail);
    prev.then(() => {
      const done = () => {
        release();
        if (tails.get(key) === tail) tails.delete(key);
      };
      if (req.socket.destroyed) return done(); // gave up while waiting: no "close" will come
      res.once("close", done);
      const md = layer.getMetadata(t.bucket, t.object);
      if ((md ? Number(md.generation) : 0) !== Number(wanted)) {
        if (uploadId) pendingUploads.delete(uploadId);
        return err(res, 412, "At least one of the pre-conditions you specified did not hold.");
      }
      if (req.method === "POST" && req.query.uploadType === "resumable" && !uploadId) {
        res.once("finish", () => {
          const loc = res.getHeader("location");
          const id = loc ? new URL(String(loc)).searchParams.get("upload_id") : null;
          if (id) pendingUploads.set(id, wanted);
        });
      }
      if (uploadId && req.method === "PUT") {
        res.once("finish", () => res.statusCode !== 308 && pendingUploads.delete(uploadId));
      }
      next();
    });
  };
}

module.exports = { installExtras };
