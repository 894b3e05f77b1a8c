// One image's bytes → a size×size JPEG, or the reason it was dropped. Only runners import
// this module (sharp is a native addon the coordinator must never load).
import sharp, { type Metadata } from "sharp";

export interface ProcessImageOptions {
  /** Side of the square output, in pixels. */
  size: number;
  /** Images with more pixels than this (by their header) are `tooBig`; none is decoded. */
  maxPixels: number;
  /** JPEG quality of the output. */
  quality?: number;
}

export type ProcessImageResult =
  | { outcome: "ok"; jpeg: Buffer; width: number; height: number; format: string }
  | { outcome: "tooBig" | "undecodable"; reason: string };

/** The formats we decode. Everything else (GIF, SVG, AVIF, HEIF, TIFF, …) is `undecodable`. */
const FORMATS = new Set(["jpeg", "png", "webp"]);

/**
 * Reads the header first (format and dimensions, no pixel data), refuses by format and by
 * pixel count, and only then decodes: a 100-megapixel "bomb" never allocates its pixels.
 * `limitInputPixels` on the decode too, in case the header lied.
 *
 * The width and height returned are the original's as displayed, i.e. after its EXIF
 * orientation, which is also applied before the resize.
 */
export async function processImage(bytes: Buffer, options: ProcessImageOptions): Promise<ProcessImageResult> {
  let meta: Metadata;
  try {
    // No pixel limit here: we want the dimensions to classify the image, not an error.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    return { outcome: "undecodable", reason: messageOf(error) };
  }
  const format = meta.format as string | undefined;
  if (format === undefined || !FORMATS.has(format)) return { outcome: "undecodable", reason: `format ${format ?? "unknown"}` };
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!(width > 0 && height > 0)) return { outcome: "undecodable", reason: "no dimensions in the header" };
  if (width * height > options.maxPixels) return { outcome: "tooBig", reason: `${width}×${height} pixels > ${options.maxPixels}` };

  try {
    let image = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: "error", autoOrient: true, animated: false });
    // JPEG has no alpha: composite transparent images onto white, not black.
    if (meta.hasAlpha) image = image.flatten({ background: "#ffffff" });
    const jpeg = await image
      .resize(options.size, options.size, { fit: "cover", position: "centre" })
      .jpeg({ quality: options.quality ?? 90 })
      .toBuffer();
    return { outcome: "ok", jpeg, width, height, format };
  } catch (error) {
    const reason = messageOf(error);
    return { outcome: /pixel limit/i.test(reason) ? "tooBig" : "undecodable", reason };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
