//! The prompt and run settings both Readout and Steer use: prompt, max tokens, temperature,
//! seed, Generate / Stop and the speed line. Values live in the app state (and so in the URL);
//! the Compare view binds its own number fields with the same clamping (`numeric`).
//! Screen readers hear a reply once, politely, when it ends (its text and length), not token
//! by token: the token boxes and the speed line are not live regions, `#announce` is.

import type { App, Scope } from "../app";
import { h } from "../dom";
import { speedText } from "../engine/protocol";
import { replyText } from "../run-data";
import { MAX_PROMPT_CHARS, wellFormed } from "../share/url-state";

/** The number a field's `text` gives, rounded when `int`, clamped to `min`..`max`; `fallback`
 * (clamped too) when the text is empty or not a number. */
export function clampNumber(text: string, min: number, max: number, int: boolean, fallback: number): number {
  let v = Number(text);
  if (!Number.isFinite(v) || text.trim() === "") v = fallback;
  return Math.min(max, Math.max(min, int ? Math.round(v) : v));
}

/** Binds the number field `el` (with `min` and `max`) to the state's `key`: a change is clamped
 * (clampNumber, the state's value standing in for no number), shown, and stored, so that the
 * state (and a link) never holds a number outside its range. */
export function numeric(app: App, el: HTMLInputElement, key: "maxTokens" | "temperature" | "seed", int: boolean) {
  el.addEventListener("change", () => {
    const v = clampNumber(el.value, Number(el.min), Number(el.max), int, app.state[key]);
    el.value = String(v);
    app.update({ [key]: v });
  });
}

/** Builds the panel; `onGenerate` runs the view's kind of reply. Returns it and its teardown. */
export function runPanel(app: App, scope: Scope, onGenerate: () => void): HTMLElement {
  const s = app.state;
  const prompt = h("textarea", { id: "prompt", "data-testid": "prompt-input", rows: 3, maxlength: MAX_PROMPT_CHARS });
  prompt.value = s.prompt;
  const max = h("input", { id: "max-tokens", type: "number", min: 1, max: 1024, value: s.maxTokens });
  const temperature = h("input", { id: "temperature", type: "number", min: 0, max: 2, step: 0.1, value: s.temperature });
  const seed = h("input", { id: "seed", type: "number", min: 0, max: 4294967295, value: s.seed });
  const generate = h("button", { id: "generate", type: "button", "data-testid": "generate-button", class: "primary" }, "Generate");
  const stop = h("button", { id: "stop", type: "button", "data-testid": "stop-button" }, "Stop");
  const speed = h("p", { id: "speed", class: "meta" });
  const announce = h("p", { id: "announce", class: "visually-hidden", role: "status", "aria-live": "polite" });

  // The state holds the prompt as a link carries it (lone surrogates made U+FFFD).
  prompt.addEventListener("input", () => app.update({ prompt: wellFormed(prompt.value) }));
  numeric(app, max, "maxTokens", true);
  numeric(app, temperature, "temperature", false);
  numeric(app, seed, "seed", true);
  // Ctrl/Cmd+Enter in the prompt generates.
  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); generate.click(); }
  });
  generate.addEventListener("click", () => {
    // A typed number not yet committed with Enter/blur counts too.
    for (const el of [max, temperature, seed]) el.dispatchEvent(new Event("change"));
    speed.textContent = "";
    onGenerate();
  });
  stop.addEventListener("click", () => app.stop());

  const buttons = () => {
    generate.disabled = !app.ready || app.busy;
    stop.disabled = !app.busy;
  };
  buttons();
  let started = 0;
  let tokens = 0;
  scope.on((e) => {
    if (e.type === "busy" || e.type === "ready") buttons();
    else if (e.type === "generate-start") announce.textContent = "Generating a reply…";
    else if (e.type === "run-start" && e.run === "main") { started = performance.now(); tokens = 0; }
    else if (e.type === "token" && e.run === "main") {
      tokens += 1;
      speed.textContent = speedText(tokens, performance.now() - started, null);
    } else if (e.type === "done") {
      speed.dataset.stats = JSON.stringify(e.stats);
      speed.textContent = speedText(tokens, performance.now() - started, e.stats) + (e.reason === "cancelled" ? " (stopped)" : "");
      const said = app.runs.baseline ? "Steered reply" : "Reply";
      announce.textContent = `${said} ${e.reason === "cancelled" ? "stopped" : "done"}, ${tokens} tokens: ${replyText(app.runs.main).trim()}`;
    } else if (e.type === "error") {
      announce.textContent = `Error: ${e.message}`;
    }
  });

  const el = h("section", { class: "run", "aria-label": "prompt and settings" },
    h("label", { for: "prompt" }, "Prompt"),
    prompt,
    h("div", { class: "controls" },
      h("label", {}, "max tokens ", max),
      h("label", {}, "temperature ", temperature),
      h("label", {}, "seed ", seed),
      generate,
      stop,
      h("span", { class: "meta" }, "Ctrl+Enter generates"),
    ),
    speed,
    announce,
  );
  return el;
}
