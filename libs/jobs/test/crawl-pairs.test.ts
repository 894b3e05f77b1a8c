// The pure parts of crawl.wat: link filtering, URL resolution, licences, object URLs.
import { describe, expect, it } from "vitest";
import { joinObjectUrl, splitObjectUrl } from "../src/crawl/object-url.ts";
import { baseUrl, Deduper, extractPage, licenseUrl, normaliseAlt, pathExtension } from "../src/crawl/pairs.ts";

const filter = { excludeExtensions: ["svg", "gif"], minAltLength: 1 };

describe("pairs", () => {
  it("normalises alt whitespace, Unicode spaces included", () => {
    expect(normaliseAlt("  Ein\u00a0 Hund\n\tim  Park \u3000")).toBe("Ein Hund im Park");
    expect(normaliseAlt(" \n\t ")).toBe("");
  });

  it("takes the extension from the path only, case-insensitive", () => {
    expect(pathExtension(new URL("https://x.org/a/b.SVG?v=1"))).toBe("svg");
    expect(pathExtension(new URL("https://x.org/thumb.php?src=a.svg"))).toBe("php");
    expect(pathExtension(new URL("https://x.org/a.b/c"))).toBe("");
    expect(pathExtension(new URL("https://x.org/"))).toBe("");
  });

  it("resolves against <base href> when the page has one", () => {
    expect(baseUrl("https://a.org/x/y.html", { Base: "/static/" })?.href).toBe("https://a.org/static/");
    expect(baseUrl("https://a.org/x/y.html", { Base: "http://[bad" })?.href).toBe("https://a.org/x/y.html");
    expect(baseUrl("https://a.org/x/y.html", {})?.href).toBe("https://a.org/x/y.html");
  });

  it("recognises Creative Commons licences and public-domain tools, nothing else", () => {
    const base = new URL("http://a.org/p.html");
    expect(licenseUrl("//creativecommons.org/licenses/by/4.0/", base)).toBe("http://creativecommons.org/licenses/by/4.0/");
    expect(licenseUrl("https://www.creativecommons.org/publicdomain/zero/1.0/", base)).toBe("https://www.creativecommons.org/publicdomain/zero/1.0/");
    expect(licenseUrl("https://creativecommons.org/about/", base)).toBeUndefined();
    expect(licenseUrl("https://creativecommons.org.evil.example/licenses/by/4.0/", base)).toBeUndefined();
    expect(licenseUrl("https://creativecommons.org/licenses/", base)).toBeUndefined();
  });

  it("keeps IMG@/src with alt text, resolved; drops the rest with a reason", () => {
    const page = extractPage(
      {
        Head: { Link: [{ path: "LINK@/href", url: "https://creativecommons.org/licenses/by-sa/4.0/", rel: "license" }] },
        Links: [
          { path: "IMG@/src", url: "../a.jpg", alt: " A  cat " },
          { path: "IMG@/src", url: "/b.jpg" },
          { path: "IMG@/src", url: "/c.jpg", alt: "   " },
          { path: "IMG@/src", url: "data:image/png;base64,AAAA", alt: "x" },
          { path: "IMG@/src", url: "/d.gif", alt: "x" },
          { path: "IMG@/src", url: "http://exa mple.com/e.jpg", alt: "x" },
          { path: "IMG@/data-src", url: "/lazy.jpg", alt: "not an IMG@/src" },
          { path: "A@/href", url: "/next", text: "next" },
        ],
      },
      "https://site.org/blog/post.html",
      filter,
    );
    expect(page.candidates).toEqual([{ url: "https://site.org/a.jpg", alt: "A cat" }]);
    expect(page).toMatchObject({ links: 8, images: 6, license: "https://creativecommons.org/licenses/by-sa/4.0/" });
    expect(page.dropped).toEqual({ noAlt: 2, altTooShort: 0, badUrl: 1, scheme: 1, extension: 1 });
    expect(extractPage({ Links: [{ path: "IMG@/src", url: "/a.jpg", alt: "ab" }] }, "https://s.org/", { ...filter, minAltLength: 3 }).dropped.altTooShort).toBe(1);
  });

  // Regression: a faster version checked links with URL.canParse, which on Node 20 and 22
  // answers false for hosts with Latin-1 letters once V8 has optimised it (a few thousand
  // calls in), so a long shard silently dropped such images as badUrl.
  it("keeps images on internationalised hosts after thousands of links (URL.canParse bug)", () => {
    const page = (url: string) => ({ Links: [{ path: "IMG@/src", url, alt: "a photo" }] });
    // Links with a port take the URL parser (the slow path), warming it up.
    for (let i = 0; i < 20_000; i++) extractPage(page(`https://ex.com:8080/${i}.jpg`), "https://ex.com/", filter);
    for (const [link, href] of [
      ["https://bücher.de/a.jpg", "https://xn--bcher-kva.de/a.jpg"],
      ["//faß.de/b.jpg", "https://xn--fa-hia.de/b.jpg"],
      ["HTTP://café.fr/c.jpg", "http://xn--caf-dma.fr/c.jpg"],
    ]) {
      const out = extractPage(page(link!), "https://ex.com/", filter);
      expect(out.dropped.badUrl, link).toBe(0);
      expect(out.candidates.map((c) => c.url)).toEqual([href]);
    }
  });

  it("counts a pair once per shard", () => {
    const d = new Deduper();
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "cat" })).toBe(true);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "cat" })).toBe(false);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "dog" })).toBe(true);
    // A URL with several alts: each alt once, whichever came first.
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "cat" })).toBe(false);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "dog" })).toBe(false);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "owl" })).toBe(true);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "owl" })).toBe(false);
    // The same alt on another URL, and a URL that is a prefix of another, are new pairs.
    expect(d.firstTime({ url: "https://a/y.jpg", alt: "cat" })).toBe(true);
    expect(d.firstTime({ url: "https://a/x.jp", alt: "g\ncat" })).toBe(true);
    expect(d.size).toBe(5);
  });

  it("tells pairs apart where they differ, across table growth", () => {
    const d = new Deduper();
    // The URL/alt boundary counts, and so does every character, case and non-ASCII included.
    expect(d.firstTime({ url: "ab", alt: "c" })).toBe(true);
    expect(d.firstTime({ url: "a", alt: "bc" })).toBe(true);
    expect(d.firstTime({ url: "", alt: "abc" })).toBe(true);
    expect(d.firstTime({ url: "abc", alt: "" })).toBe(true);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "Cat" })).toBe(true);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "cat" })).toBe(true);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "café" })).toBe(true);
    expect(d.firstTime({ url: "https://a/x.jpg", alt: "cafe\u0301" })).toBe(true);
    expect(d.size).toBe(8);
    // 300,000 pairs that share long prefixes (the table doubles many times on the way): each
    // new once, then seen, and the earliest still remembered at the end.
    const pair = (i: number) => ({ url: `https://img.example.com/photos/2024/${i % 1000}/${i}.jpg`, alt: `photo number ${i >> 3}` });
    let fresh = 0;
    for (let i = 0; i < 300_000; i++) if (d.firstTime(pair(i))) fresh++;
    expect(fresh).toBe(300_000);
    let again = 0;
    for (let i = 0; i < 300_000; i++) if (d.firstTime(pair(i))) again++;
    expect(again).toBe(0);
    expect(d.firstTime({ url: "ab", alt: "c" })).toBe(false);
    expect(d.size).toBe(300_008);
  });
});

describe("licence links", () => {
  // licenseUrl skips links that cannot name creativecommons.org before parsing them: the
  // answers must be those of parsing every link.
  const parsed = (raw: string, base: URL | undefined): string | undefined => {
    let url: URL;
    try {
      url = new URL(raw, base);
    } catch {
      return undefined;
    }
    const cc = (url.protocol === "http:" || url.protocol === "https:") && (url.hostname === "creativecommons.org" || url.hostname === "www.creativecommons.org");
    return cc && /^\/(licenses|publicdomain)\/./.test(url.pathname) ? url.href : undefined;
  };
  it("answers as if every link were parsed, however the host is spelt", () => {
    const page = new URL("https://example.com/a/b.html");
    const ccPage = new URL("https://creativecommons.org/about/");
    const links = [
      "https://creativecommons.org/licenses/by/4.0/",
      "HTTPS://CreativeCommons.ORG/licenses/by-sa/3.0/",
      "//www.creativecommons.org/publicdomain/zero/1.0/",
      "https://creativecommons%2Eorg/licenses/by/4.0/",
      "https://creative\tcommons.org/licenses/by/4.0/",
      "https://creative\ncommons.org/licenses/by/4.0/",
      "https://ｃｒｅａｔｉｖｅｃｏｍｍｏｎｓ.org/licenses/by/4.0/",
      "https://creative\u00adcommons.org/licenses/by/4.0/",
      "/licenses/by/4.0/",
      "licenses/by/4.0/",
      "https://example.com/licenses/by/4.0/",
      "mailto:someone@creativecommons.org",
      "",
    ];
    for (const base of [page, ccPage, undefined]) {
      for (const link of links) expect(licenseUrl(link, base), `${link} on ${base?.href}`).toBe(parsed(link, base));
    }
    expect(licenseUrl("https://creativecommons%2Eorg/licenses/by/4.0/", page)).toBe("https://creativecommons.org/licenses/by/4.0/");
    expect(licenseUrl("/licenses/by/4.0/", ccPage)).toBe("https://creativecommons.org/licenses/by/4.0/");
  });
});

describe("object URLs", () => {
  it("splits an object URL into a storage root and a key, keeping the query on the root", () => {
    expect(splitObjectUrl("s3://b/run/x.wat.gz?region=eu-west-1")).toEqual({ root: "s3://b/run/?region=eu-west-1", key: "x.wat.gz" });
    expect(splitObjectUrl("memory://m/x%20y.gz")).toEqual({ root: "memory://m/", key: "x y.gz" });
    expect(splitObjectUrl("/tmp/a/shard.wat.gz")).toEqual({ root: "/tmp/a/", key: "shard.wat.gz" });
    expect(() => splitObjectUrl("s3://bucket")).toThrow(/does not name an object/);
    expect(() => splitObjectUrl("s3://bucket/dir/")).toThrow(/does not name an object/);
  });

  it("joins a root and a key", () => {
    expect(joinObjectUrl("s3://b/out?region=eu", "7/1/pairs.parquet")).toBe("s3://b/out/7/1/pairs.parquet?region=eu");
    expect(joinObjectUrl("memory://m/out/", "k")).toBe("memory://m/out/k");
  });
});
