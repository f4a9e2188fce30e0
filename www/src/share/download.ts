//! Files out of the page: a Blob saved through a download link, and a Plot chart as a
//! standalone SVG or PNG.
//!
//! The PNG is drawn from the SVG through an <img> whose source is a `data:` URL, not a `blob:`
//! one: the page's CSP allows `img-src 'self' data:` and nothing else, and an SVG image from a
//! data: URL (no foreignObject) leaves the canvas clean, so `toBlob` works. Downloads use
//! `blob:` links, which are navigations, not image loads, so no CSP change is needed.

/** Saves `blob` as `name` through a temporary download link. */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Let the download start before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** The chart's size in CSS pixels, from its viewBox (Plot sets one) or its box. */
function size(svg: SVGSVGElement): { width: number; height: number } {
  const vb = svg.viewBox.baseVal;
  if (vb && vb.width > 0 && vb.height > 0) return { width: vb.width, height: vb.height };
  const r = svg.getBoundingClientRect();
  return { width: Math.max(1, r.width), height: Math.max(1, r.height) };
}

/** A copy of `svg` that looks the same outside the page: the font, text colour and background
 * the page's stylesheet gave it become attributes, and it names its namespace. */
export function standaloneSvg(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  const { width, height } = size(svg);
  const css = getComputedStyle(svg);
  const page = getComputedStyle(document.body);
  const background = page.backgroundColor && page.backgroundColor !== "rgba(0, 0, 0, 0)" ? page.backgroundColor : "white";
  copy.setAttribute("xmlns", SVG_NS);
  copy.setAttribute("width", String(width));
  copy.setAttribute("height", String(height));
  copy.setAttribute("color", css.color || "black");
  copy.setAttribute("font-family", css.fontFamily || "sans-serif");
  copy.setAttribute("font-size", css.fontSize || "10px");
  copy.removeAttribute("class");
  const bg = document.createElementNS(SVG_NS, "rect");
  bg.setAttribute("width", "100%");
  bg.setAttribute("height", "100%");
  bg.setAttribute("fill", background);
  copy.insertBefore(bg, copy.firstChild);
  return new XMLSerializer().serializeToString(copy);
}

/** The SVG text drawn at `scale` × its size into a PNG. */
export async function svgToPng(svgText: string, width: number, height: number, scale = 2): Promise<Blob> {
  const img = new Image();
  img.decoding = "async";
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText)}`;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("no 2D canvas in this browser");
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise((ok, fail) => canvas.toBlob((b) => (b ? ok(b) : fail(new Error("the chart could not be made into a PNG"))), "image/png"));
}

/** Downloads the chart `svg` as `name`.svg or `name`.png. */
export async function downloadChart(svg: SVGSVGElement, name: string, format: "svg" | "png"): Promise<void> {
  const text = standaloneSvg(svg);
  if (format === "svg") {
    downloadBlob(new Blob([text], { type: "image/svg+xml" }), `${name}.svg`);
  } else {
    const { width, height } = size(svg);
    downloadBlob(await svgToPng(text, width, height), `${name}.png`);
  }
}
