//! What a view says about the model it runs on, when it lacks something: no chat template
//! (chat is off, prompts are continued as plain text) and no emotion vectors (what is missing
//! and the `limbic extract` line that makes them). Views that need the vectors to show anything
//! (Make, Emotion map, Experiments) get `noVectorsView` in their place.

import type { App, Mounted, Scope } from "../app";
import { h } from "../dom";
import { extractCommand } from "../models";

/** "No emotion vectors for X (why): `lacks`. To make them: limbic extract …, then …" as nodes. */
function vectorsMessage(app: App, lacks: string): (Node | string)[] {
  const m = app.model;
  const why = app.vectorsNote ? ` (${app.vectorsNote})` : "";
  const then = m.entry
    ? `; the page reads them from ${m.entry.vectorsUrl} when that file is there.`
    : "; then give the file as its emotion vectors under Model → another GGUF….";
  return [
    `No emotion vectors for ${m.name}${why}: ${lacks}. To make them, run `,
    h("code", { "data-testid": "extract-command" }, extractCommand(m)),
    then,
  ];
}

/** Two notes, kept current: chat off and vectors missing (`lacks`: what this view cannot do
 * without them). Empty while the model loads and when nothing is missing. */
export function modelNotes(app: App, scope: Scope, lacks: string): HTMLElement {
  const chat = h("p", { class: "alert", "data-testid": "chat-note", role: "status" });
  const vectors = h("p", { class: "alert", "data-testid": "vectors-note", role: "status" });
  const fill = () => {
    chat.textContent = app.ready && !app.chat
      ? `${app.model.name} has no chat template: chat is off, and each prompt is continued as plain text (a base model writes what might come next).`
      : "";
    vectors.replaceChildren(...(app.ready && !app.emotions ? vectorsMessage(app, lacks) : []));
  };
  scope.on((e) => { if (e.type === "ready" || e.type === "model") fill(); });
  fill();
  return h("div", { class: "model-notes" }, chat, vectors);
}

/** In place of a view that needs emotion vectors, for a model without them. */
export function noVectorsView(root: HTMLElement, app: App, title: string): Mounted {
  root.append(
    h("h2", {}, title),
    h("p", { class: "alert", "data-testid": "vectors-note" }, ...vectorsMessage(app, `the ${title} view works on them`)),
  );
  return { dispose: () => undefined };
}
