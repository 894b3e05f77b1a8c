// Language of an alt text, with eld (Nito-ELD): pure JS, n-gram based, ISO 639-1 codes, about
// 60k short texts a second here (tinyld managed ~5k, franc ~18k and misses short texts), and it
// says when it is unsure. Its n-gram table (~2 MB of JS) loads on first use, not at import.

/** Returns the ISO 639-1 code of `text`, or undefined when the detector is not confident. */
export type DetectLanguage = (text: string) => string | undefined;

let loading: Promise<DetectLanguage> | undefined;

/**
 * Alt texts repeat a lot ("logo", a shop's product line, a site's boilerplate), and detection
 * is the costliest step per pair, so answers are memoised. Bounded: when full it starts over.
 */
const CACHE_LIMIT = 50_000;

/** The detector, loaded once per process. */
export function loadLanguageDetector(): Promise<DetectLanguage> {
  loading ??= import("eld/medium").then(({ eld }) => {
    const cache = new Map<string, string | undefined>();
    return (text: string) => {
      if (cache.has(text)) return cache.get(text);
      const result = eld.detect(text);
      // isReliable() is eld's own confidence test (enough n-grams, a clear winner): short
      // labels such as "logo" or "IMG_2041" get no language rather than a guess.
      const language = result.language !== "" && result.isReliable() ? result.language : undefined;
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(text, language);
      return language;
    };
  });
  return loading;
}
