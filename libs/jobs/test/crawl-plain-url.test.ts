// resolvePlainUrl and hasOpaqueOtherScheme (crawl/plain-url.ts) skip `new URL` for plain image
// links: whenever they answer, the answer must be what `new URL(raw, base)` gives, and they
// must answer for the common shapes of links (else the shortcut does nothing).
import { describe, expect, it } from "vitest";
import { hasOpaqueOtherScheme, plainBase, resolvePlainUrl } from "../src/crawl/plain-url.ts";

const BASES = [
  "https://www.example.com/blog/2024/post.html?x=1#top",
  "http://example.com",
  "http://example.com:8080/a/b/",
  "https://user:pw@example.com/a/b.html",
  "http://192.168.0.1/x/y",
  "http://[::1]/x/",
  "http://xn--bcher-kva.example/dir/page",
  "ftp://example.com/pub/",
  "file:///tmp/a.html",
  "mailto:someone@example.com",
];

const LINKS = [
  "https://cdn.example.com/images/a1.webp",
  "http://cdn.example.com/images/a1.JPG?w=640&h=480#frag",
  "https://cdn.example.com",
  "https://cdn.example.com?x",
  "https://cdn.example.com#x",
  "https://CDN.example.com/x.jpg",
  "HTTPS://cdn.example.com/x.jpg",
  "https://cdn.example.com:443/x.jpg",
  "https://cdn.example.com:8443/x.jpg",
  "https://user@cdn.example.com/x.jpg",
  "https://1.2.3.4/x.jpg",
  "https://1.2.3/x.jpg",
  "https://0x7f.1/x.jpg",
  "https://example.0x1f/x.jpg",
  "https://example.123/x.jpg",
  "https://example.com./x.jpg",
  "https://.example.com/x.jpg",
  "https://a..b/x.jpg",
  "https://xn--bcher-kva.example/x.jpg",
  "https://xn--a.example/x.jpg",
  "https://a-xn--b.example/x.jpg",
  "https://-a-.example/x.jpg",
  "https://ex%41mple.com/x.jpg",
  "https:///x.jpg",
  "https:/cdn.example.com/x.jpg",
  "https:x.jpg",
  "http:x.jpg",
  "//cdn.static-ab12.net/c/ab12.jpg",
  "//CDN.static.net/c/x.jpg",
  "///x.jpg",
  "/img/a1.jpg",
  "/img/a1.jpg?w=640&h=480",
  "/img/./a1.jpg",
  "/img/../a1.jpg",
  "/img/%2e%2e/a1.jpg",
  "/img/%2E/a1.jpg",
  "/img/.hidden/a..b/a1.jpg",
  "/img/a1.jpg/..",
  "/img/a1.jpg?/../x",
  "/img/a1.jpg#/../x",
  "/img/my photo.png",
  "/img/größe.jpg",
  "/img/größe.jpg?ü=1",
  "/img/a.jpg#ö",
  "https://hóst.example/a.jpg",
  "//hóst.example/a.jpg",
  "/img/\uD83D\uDE00.png",
  "/img/\uD800.png",
  "/img/\u00a0\ufeff.png",
  "/img/a\x7f.png",
  "/img/a\x01.png",
  " /img/a b.jpg",
  "/img/a b.jpg ",
  "/img/a\tb.jpg",
  "/img/a\\b.jpg",
  "/img/a%zz%20b.jpg",
  "/img/a|b^c`d{e}[f].jpg",
  "/img/a'b\"c<d>.jpg?q='x'",
  "/img/a:b@c;d=e,f+g$h!i*(j)~k.jpg",
  "/img/a.jpg??x##y",
  "a1.webp",
  "img/a1.webp?w=1",
  "./a1.webp",
  "../a1.webp",
  ".",
  "..",
  "a/./b.jpg",
  "../../../../a1.webp",
  "./../a/b.jpg",
  "..//a.jpg",
  "../",
  "./",
  "../..",
  "../a/../b.jpg",
  ".../a.jpg",
  "Https://CDN.Example.COM/Images/A.JPG",
  "HTTP://XN--BCHER-KVA.example/x.jpg",
  "//CDN.Example.com/x.jpg",
  "a:b/c.jpg",
  "a/b:c.jpg",
  "C:/x.jpg",
  "javascript:void(0)",
  "data:image/png;base64,iVBORw0KGgo=",
  "mailto:x@example.com",
  "mailto:",
  "JavaScript:void(0)",
  "data:,",
  "foo://[bad/x",
  "foo:\n//[bad/x",
  "foo:\t/x",
  "foo: x",
  "ftp:x",
  "file:x",
  "ws:x",
  "1a:x",
  "a+b.c-d:x",
  "?page=2",
  "#frag",
  " /img/a.jpg",
  "/img/a.jpg ",
];

/** What crawl.wat did for every link before the shortcut. */
function parsed(raw: string, base: URL | undefined): { href: string; pathname: string } | undefined {
  try {
    const url = new URL(raw, base);
    return url.protocol === "http:" || url.protocol === "https:" ? { href: url.href, pathname: url.pathname } : undefined;
  } catch {
    return undefined;
  }
}

/** True when the link parses to a URL of a scheme other than http(s). */
function otherScheme(raw: string, base: URL | undefined): boolean {
  try {
    const url = new URL(raw, base);
    return url.protocol !== "http:" && url.protocol !== "https:";
  } catch {
    return false;
  }
}

/** Deterministic pseudo-random links over characters the URL parser treats specially. */
function randomLinks(count: number): string[] {
  const pieces = ["a", "Z", "0", "-", ".", "..", "../", "./", "/", "//", "?", "#", ":", "@", "%", "%2e", "%41", "x.jpg", "http://", "HTTPS://", "xn--", "~", "'", " ", "\\", "\t", "\n", "data:", "ftp:", "+"];
  // Characters the parser percent-encodes, strips, replaces or keeps.
  pieces.push("é", "größe", "日本", "\uD83D\uDE00", "\uD800", "\u00a0", "\ufeff", '"', "<", ">", "`", "{", "}", "|", "^", "[", "]", "\x7f", "\x01");
  let seed = 42;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  return Array.from({ length: count }, () => Array.from({ length: 1 + next(8) }, () => pieces[next(pieces.length)]).join(""));
}

describe("resolvePlainUrl", () => {
  it("answers exactly as new URL(raw, base) whenever it answers", () => {
    for (const baseText of [...BASES, undefined]) {
      const base = baseText === undefined ? undefined : new URL(baseText);
      for (const raw of [...LINKS, ...randomLinks(5000)]) {
        const fast = resolvePlainUrl(raw, plainBase(base));
        if (fast !== undefined) expect(fast, `${raw} on ${baseText}`).toEqual(parsed(raw, base));
        if (hasOpaqueOtherScheme(raw)) expect(otherScheme(raw, base), `${raw} on ${baseText}`).toBe(true);
      }
    }
  });

  it("takes the shortcut for plain links (else the test above proves nothing)", () => {
    const base = plainBase(new URL("https://www.example.com/blog/2024/post.html?x=1"));
    expect(resolvePlainUrl("https://cdn.example.com/images/a1.webp", base)?.href).toBe("https://cdn.example.com/images/a1.webp");
    expect(resolvePlainUrl("//cdn.static.net/c/a.jpg", base)?.href).toBe("https://cdn.static.net/c/a.jpg");
    expect(resolvePlainUrl("/img/a1.jpg?w=640", base)).toEqual({ href: "https://www.example.com/img/a1.jpg?w=640", pathname: "/img/a1.jpg" });
    expect(resolvePlainUrl("a1.webp", base)?.href).toBe("https://www.example.com/blog/2024/a1.webp");
    expect(resolvePlainUrl("../a1.webp", base)?.href).toBe("https://www.example.com/blog/a1.webp");
    expect(resolvePlainUrl("HTTPS://CDN.Example.com/A.jpg", base)?.href).toBe("https://cdn.example.com/A.jpg");
    expect(resolvePlainUrl("/bilder/größe x.jpg?w=1", base)?.href).toBe("https://www.example.com/bilder/gr%C3%B6%C3%9Fe%20x.jpg?w=1");
    expect(resolvePlainUrl("a/../b.jpg", base)).toBeUndefined();
    expect(hasOpaqueOtherScheme("data:image/png;base64,iVBORw0KGgo=")).toBe(true);
    expect(hasOpaqueOtherScheme("javascript:void(0)")).toBe(true);
    expect(hasOpaqueOtherScheme("ftp://files.example.net/a.jpg")).toBe(false);
    expect(plainBase(new URL("https://u:p@example.com/"))).toBeUndefined();
  });
});
