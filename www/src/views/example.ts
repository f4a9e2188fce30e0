//! First paint: while the 98 MB model loads, a reply limbic made earlier with the same engine
//! (public/example.json), every token coloured by its top emotion, labelled "example
//! (precomputed)"; hover or focus a token for its top emotions. Removed once the model is ready.

import type { App } from "../app";
import { categoryColours, OTHER, withAlpha } from "../charts/colour";
import { h } from "../dom";
import { type Example, type ExampleToken, parseExample } from "./example-data";

/** Fetches the example into `root` (a hidden <section>) and shows it until the model is ready. */
export async function showExample(root: HTMLElement, app: App): Promise<void> {
  let done = false;
  app.on((e) => {
    // Gone, not just hidden: the view's own tokens are the only ones on the page from now on.
    if (e.type === "ready" || e.type === "model") { done = true; root.hidden = true; root.replaceChildren(); }
  });
  let example: Example | null = null;
  try {
    const resp = await fetch(new URL("example.json", document.baseURI));
    example = resp.ok ? parseExample(await resp.json()) : null;
  } catch {
    example = null;
  }
  if (!example || done) return;
  render(root, example);
  root.hidden = false;
  performance.mark("limbic-example-shown");
}

function render(root: HTMLElement, ex: Example) {
  const colours = categoryColours(ex.tokens.flatMap((t) => (t.top[0] ? [t.top[0][0]] : [])));
  const colour = (t: ExampleToken) => withAlpha(colours.get(t.top[0]?.[0] ?? "") ?? OTHER, 0.6);
  const heading = h("h3", { id: "example-token" }, "Hover or focus a token");
  const list = h("ol", { class: "example-top" });
  const pick = (t: ExampleToken) => {
    heading.textContent = `Token ${JSON.stringify(t.text)} (${t.kind})`;
    list.replaceChildren(...t.top.map(([n, s]) => h("li", {}, `${n} ${s.toFixed(2)}`)));
  };
  const stream = (kind: ExampleToken["kind"], label: string) => {
    const box = h("div", { class: "tokens", role: "group", "aria-label": `${label}; arrow keys move between tokens` });
    // One tab stop per stream; arrow keys move between its tokens.
    box.addEventListener("keydown", (e) => {
      const spans = [...box.querySelectorAll<HTMLElement>(".tok")];
      const at = spans.indexOf(document.activeElement as HTMLElement);
      const step = ({ ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 } as Record<string, number>)[e.key];
      if (step === undefined || at < 0) return;
      e.preventDefault();
      spans[Math.max(0, Math.min(spans.length - 1, at + step))]?.focus();
    });
    for (const [i, t] of ex.tokens.filter((x) => x.kind === kind).entries()) {
      const span = h("span", { class: `tok ${kind}`, tabindex: i === 0 ? 0 : -1, title: t.top.slice(0, 3).map(([n, s]) => `${n} ${s.toFixed(2)}`).join(", ") }, t.text);
      span.style.backgroundColor = colour(t);
      span.addEventListener("mouseenter", () => pick(t));
      span.addEventListener("focus", () => pick(t));
      box.append(span);
    }
    return box;
  };
  const legend = h("ul", { class: "legend", "aria-label": "colour legend" }, ...[...colours].filter(([, c]) => c !== OTHER).map(([name, c]) => {
    const sw = h("span", { class: "swatch", "aria-hidden": "true" });
    sw.style.backgroundColor = withAlpha(c, 0.6);
    return h("li", {}, sw, name);
  }));
  root.replaceChildren(
    h("h2", {}, h("span", { class: "badge", "data-testid": "example-label" }, "example (precomputed)"), " while the model loads"),
    h("p", { class: "meta" }, `Made earlier by this page's engine (${ex.backend === "webgpu" ? "WebGPU" : "CPU"}, layer ${ex.layer}, seed ${ex.seed}, temperature ${ex.temperature}, ${ex.date.slice(0, 10)}); each token coloured by its top emotion. Your own replies start once the model is ready.`),
    legend,
    h("div", { class: "chat-readout" },
      h("div", {},
        h("section", { class: "bubble user", "aria-label": "example prompt" }, h("h3", {}, "You"), stream("prompt", "example prompt tokens")),
        h("section", { class: "bubble model", "aria-label": "example reply" }, h("h3", {}, "SmolLM2"), stream("reply", "example reply tokens")),
      ),
      h("section", { class: "readout", "aria-label": "example token readout" }, heading, list),
    ),
  );
}
