//! Building DOM safely: text goes in as text (textContent), never as HTML.

type Attrs = Record<string, string | number | boolean | undefined>;

/** `<tag attrs>children</tag>`: strings become text nodes; attributes with `false` or
 * `undefined` are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

/** An `<option>` whose label is text. */
export function option(value: string, label: string, selected = false): HTMLOptionElement {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  o.selected = selected;
  return o;
}

/** The names of the vectors made in the page as an `<optgroup>` to follow a list of emotions
 * (none when there are none). */
export function madeGroup(names: readonly string[]): HTMLOptGroupElement[] {
  return names.length ? [h("optgroup", { label: "made here" }, ...names.map((n) => option(n, n)))] : [];
}

/** How often a streaming view redraws at most: its charts re-render whole, and on a small
 * machine every frame's redraw took CPU from the engine's worker. */
export const DRAW_MS = 150;
/** How often a streaming view redraws its charts at most. */
export const CHART_MS = 600;

/** Calls `fn` at most once per animation frame and `minMs`, after the last request; called
 * with `true`, runs `fn` at once (and drops the one pending), e.g. when a reply ends. */
export function frameThrottle(fn: () => void, minMs = 0): (now?: boolean) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let frame: number | undefined;
  let last = -Infinity;
  const run = () => {
    clearTimeout(timer);
    if (frame !== undefined) cancelAnimationFrame(frame);
    timer = frame = undefined;
    last = performance.now();
    fn();
  };
  return (now = false) => {
    if (now) return run();
    if (timer !== undefined || frame !== undefined) return;
    const wait = last + minMs - performance.now();
    if (wait > 0) timer = setTimeout(() => { timer = undefined; frame = requestAnimationFrame(run); }, wait);
    else frame = requestAnimationFrame(run);
  };
}

/** True when the visitor asked for less motion. */
export function reducedMotion(): boolean {
  return window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;
}

/** `table` in a box that scrolls sideways on a narrow screen (the page itself never does);
 * focusable, so the keyboard can scroll it too. */
export function scrollBox(label: string, table: HTMLElement): HTMLDivElement {
  return h("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: 0 }, table);
}
