import { describe, expect, test } from "vitest";
import { isHello, parentOrigin, usableOrigin } from "./embed-parent";
import { elementSnippet, embedState, escapeAttr, iframeSnippet } from "./embed-snippet";
import { embedSrc, heightOf, MAX_HEIGHT, MIN_HEIGHT } from "./embed-src";
import { defaultState, parseUrl } from "./url-state";

const SITE = "https://limbic.example/demo/";

describe("<limbic-demo> attributes → embed URL", () => {
  test("embed.html next to the script; only the page's parameters pass, encoded", () => {
    const attrs: Record<string, string> = { prompt: "a & b \"c\" <d>", steer: "sad:0.2", view: "steer", onload: "x", src: "evil" };
    const src = embedSrc(`${SITE}limbic-demo.js`, (n) => attrs[n] ?? null);
    const url = new URL(src);
    expect(url.origin + url.pathname).toBe(`${SITE}embed.html`);
    expect(url.searchParams.get("prompt")).toBe("a & b \"c\" <d>");
    expect(url.searchParams.get("steer")).toBe("sad:0.2");
    expect([...url.searchParams.keys()].sort()).toEqual(["prompt", "steer", "view"]);
  });

  test("height messages: the right type and a finite number, clamped; nothing else", () => {
    expect(heightOf({ type: "limbic:height", height: 640.4 })).toBe(640);
    expect(heightOf({ type: "limbic:height", height: 1e9 })).toBe(MAX_HEIGHT);
    expect(heightOf({ type: "limbic:height", height: -5 })).toBe(MIN_HEIGHT);
    for (const bad of [null, "limbic:height", 5, {}, { type: "other", height: 10 }, { type: "limbic:height", height: "300" },
      { type: "limbic:height", height: NaN }, { type: "limbic:height", height: Infinity }]) {
      expect(heightOf(bad)).toBeNull();
    }
  });
});

describe("the embed's parent", () => {
  test("http(s) origins only, exactly an origin", () => {
    expect(usableOrigin("https://blog.example")).toBe("https://blog.example");
    expect(usableOrigin("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080");
    for (const bad of ["null", "", null, undefined, "file://", "https://blog.example/path", "javascript:alert(1)", "not a url"]) {
      expect(usableOrigin(bad)).toBeNull();
    }
  });

  test("the first ancestor origin is the parent's", () => {
    expect(parentOrigin(["https://a.example", "https://b.example"])).toBe("https://a.example");
    expect(parentOrigin([])).toBeNull();
    expect(parentOrigin(undefined)).toBeNull();
    expect(parentOrigin(["null"])).toBeNull();
  });

  test("hello messages", () => {
    expect(isHello({ type: "limbic:hello" })).toBe(true);
    expect(isHello({ type: "limbic:height" })).toBe(false);
    expect(isHello("limbic:hello")).toBe(false);
    expect(isHello(null)).toBe(false);
  });
});

describe("snippets", () => {
  const state = { ...defaultState(), view: "steer", prompt: `Say "hi" & <b>bye</b>`, steer: [{ name: "sad", strength: 0.2 }], seed: 7 };

  test("attribute text is escaped", () => {
    expect(escapeAttr(`a"b&c<d>e'`)).toBe("a&quot;b&amp;c&lt;d&gt;e'");
  });

  test("an embed shows Readout or Steer and runs on load", () => {
    expect(embedState({ ...state, view: "map" }).view).toBe("readout");
    expect(embedState(state)).toMatchObject({ view: "steer", autorun: true });
  });

  test("the iframe snippet points at embed.html with the state; its URL parses back to the state", () => {
    const s = iframeSnippet(SITE, state);
    expect(s).not.toMatch(/<b>|"hi"/);
    const src = /src="([^"]*)"/.exec(s)![1]!.replace(/&amp;/g, "&");
    expect(src.startsWith(`${SITE}embed.html?`)).toBe(true);
    const back = parseUrl(new URL(src).search, ["readout", "steer"]);
    expect(back.warnings).toEqual([]);
    expect(back.state).toMatchObject({ view: "steer", prompt: state.prompt, seed: 7, autorun: true });
    expect(back.steerText).toBe("sad:0.2");
  });

  test("the element snippet loads limbic-demo.js and carries the parameters as attributes", () => {
    const s = elementSnippet(SITE, state);
    expect(s).toContain(`<script src="${SITE}limbic-demo.js" defer></script>`);
    expect(s).toContain(` view="steer"`);
    expect(s).toContain(` prompt="Say &quot;hi&quot; &amp; &lt;b&gt;bye&lt;/b&gt;"`);
    expect(s).toContain(` steer="sad:0.2"`);
    expect(s).toContain(` seed="7"`);
    expect(s).toContain(` autorun="1"`);
    expect(s.trim().endsWith("></limbic-demo>")).toBe(true);
  });

  test("a made vector travels as the embed's fragment, through both snippets and the element", () => {
    const frag = "made=AAA_-&name=pirate+talk&hash=0123456789abcdef&layer=12&strength=0.3";
    const src = /src="([^"]*)"/.exec(iframeSnippet(SITE, state, frag))![1]!.replace(/&amp;/g, "&");
    expect(new URL(src).hash).toBe(`#${frag}`);
    expect(new URL(src).searchParams.has("made")).toBe(false);
    const el = elementSnippet(SITE, state, frag);
    expect(el).toContain(` made="${frag.replace(/&/g, "&amp;")}"`);
    const attrs: Record<string, string> = { view: "steer", made: frag };
    const url = new URL(embedSrc(`${SITE}limbic-demo.js`, (n) => attrs[n] ?? null));
    expect(url.hash).toBe(`#${frag}`);
    expect([...url.searchParams.keys()]).toEqual(["view"]);
    expect(iframeSnippet(SITE, state)).not.toContain("#");
  });
});
