//! Readout (the default view): the prompt and the reply, every token coloured by its emotion
//! readout; hover or focus a token for its top 10; a trajectory of chosen emotions across
//! tokens; the readout layer.

import type { App, ViewDef } from "../app";
import { dataTable } from "../charts/plot";
import { trajectoryChart, type Series } from "../charts/readout";
import { CHART_MS, DRAW_MS, frameThrottle, h, option } from "../dom";
import type { Token } from "../run-data";
import { formatStrength } from "../share/steer-text";
import { colouring, renderLegend, TokenStream } from "./tokens";
import { MAX_TRACKED, TOP } from "../share/url-state";
import { readings } from "./smoothing";
import { colourBySelect, layerSelect, TokenReadout, windowSelect } from "./widgets";
import { runPanel } from "./run-panel";
import { exportBar } from "../share/export-bar";
import { modelNotes } from "./model-notes";

/** The emotions the trajectory draws: those chosen, else the colour-by emotion, else the 3
 * highest on average over `tokens`. */
export function trackedEmotions(tokens: readonly Token[], chosen: readonly string[], emotion: string, names: readonly string[]): string[] {
  if (chosen.length) return [...chosen];
  if (emotion !== TOP) return [emotion];
  const sums = new Float64Array(names.length);
  for (const t of tokens) if (t.scores) t.scores.forEach((s, i) => { sums[i] = (sums[i] ?? 0) + s; });
  return Array.from(sums, (s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => names[i]!);
}

function mount(root: HTMLElement, app: App) {
  const scope = app.scope();
  const readout = new TokenReadout(app);
  let picked = false;
  const pick = (t: Token) => { picked = true; readout.show(t); };
  const promptBox = h("div", { class: "tokens hide-template", "aria-label": "prompt tokens; arrow keys move between tokens", role: "group" });
  const replyBox = h("div", { class: "tokens", id: "output", "data-testid": "output-text", "aria-label": "reply tokens; arrow keys move between tokens", role: "group" });
  const promptStream = new TokenStream(promptBox, ["template", "prompt"], pick);
  const replyStream = new TokenStream(replyBox, ["reply"], pick);
  const legend = h("ul", { class: "legend", "aria-label": "colour legend" });
  const steerNote = h("p", { class: "meta", id: "steer-note" });
  const layerNote = h("p", { class: "meta", role: "status" });
  const meaning = h("p", { class: "meta", id: "readout-meaning" });
  const chart = h("div", { class: "trajectory" });
  const chips = h("ul", { class: "chips", "aria-label": "emotions in the trajectory" });
  const addTrack = h("select", { id: "track-add", "aria-label": "add an emotion to the trajectory" });
  const showTemplate = h("input", { type: "checkbox", id: "show-template" });

  // A conversation: with "continue" on, each finished exchange joins the turns the next
  // message continues (app.history); "New chat" forgets them. Re-reading at another layer
  // runs the last message again with the turns it had.
  const continueChat = h("input", { type: "checkbox", id: "continue-chat" });
  const turnsNote = h("span", { class: "meta", id: "turns", role: "status" });
  const newChat = h("button", { type: "button", id: "new-chat" }, "New chat");
  let sent: string[] = [];
  let rereading = false;
  const showTurns = () => {
    const n = app.history.length / 2;
    turnsNote.textContent = n ? `${n} earlier exchange${n === 1 ? "" : "s"} in this conversation` : "";
    newChat.disabled = n === 0;
  };
  newChat.addEventListener("click", () => { app.history = []; showTurns(); });
  const send = (reread: boolean) => {
    if (!reread) sent = continueChat.checked ? [...app.history] : [];
    rereading = reread;
    app.generate(app.state.steer, false, { history: sent });
  };
  const generate = () => send(false);
  const layer = layerSelect(app, scope, () => {
    // The readout changes only on the next pass: read the last reply again (same seed, same tokens).
    if (app.runs.main && !app.busy) {
      layerNote.textContent = `reading the last reply again at layer ${app.layer()}…`;
      send(true);
    } else {
      layerNote.textContent = `layer ${app.layer()} applies from the next reply`;
    }
  });
  showTemplate.addEventListener("change", () => { promptBox.classList.toggle("hide-template", !showTemplate.checked); draw(); });
  addTrack.addEventListener("change", () => {
    if (addTrack.value && !app.state.track.includes(addTrack.value)) {
      app.update({ track: [...app.state.track, addTrack.value].slice(-MAX_TRACKED) });
    }
    addTrack.value = "";
  });

  const shown = () => (app.runs.main?.tokens ?? []).filter((t) => t.kind !== "template" || showTemplate.checked);

  /** The charts (whole Plot redraws): while a reply streams at most every CHART_MS, so the
   * page leaves the CPU to the engine; at once otherwise. */
  const drawCharts = frameThrottle(() => {
    const names = app.emotions?.names ?? [];
    const tokens = shown();
    const last = [...tokens].reverse().find((t) => t.scores);
    if (!picked && last) readout.show(last);
    const track = trackedEmotions(tokens.filter((t) => t.kind === "reply"), app.state.track, app.state.emotion, names);
    const scored = tokens.filter((t) => t.scores);
    if (scored.length && track.length) {
      const series: Series[] = track.map((name) => {
        const i = names.indexOf(name);
        return { name, values: scored.map((t) => t.scores![i] ?? 0) };
      });
      const replyStart = scored.findIndex((t) => t.kind === "reply");
      const table = dataTable(`score of ${track.join(", ")} at each token`, ["token", "text", ...track],
        scored.map((t, i) => [String(i), JSON.stringify(t.text), ...series.map((s) => s.values[i]!)]));
      chart.replaceChildren(trajectoryChart(series, replyStart, Math.max(320, chart.clientWidth || 720)), table);
    } else {
      chart.replaceChildren(h("p", { class: "meta" }, "Generate a reply to see the trajectory."));
    }
  }, CHART_MS);

  /** Everything else that depends on the reply and the state. */
  const draw = frameThrottle(() => {
    const names = app.emotions?.names ?? [];
    const run = app.runs.main;
    const r = readings(run?.tokens ?? [], app.emotions, run?.layer ?? app.layer(), app.window());
    const colours = colouring(shown(), app.state.emotion, names, r);
    promptStream.sync(run?.tokens ?? [], colours, names, r);
    replyStream.sync(run?.tokens ?? [], colours, names, r);
    meaning.textContent = r.calibration
      ? `Each token's emotion is the top of its readout averaged over the last ${r.window} token${r.window === 1 ? "" : "s"}; ` +
        (r.calibration.emotional
          ? `its colour's strength is how emotional the averaged readout looks as a whole: how far it lies along the direction that tells emotional stories from neutral text (in standard deviations of neutral text: none below ${r.calibration.floor.toFixed(1)}, `
          : `its colour's strength is how far that score stands above the same score on neutral text (in standard deviations: none below ${r.calibration.floor.toFixed(1)}, `) +
        `where 95 % of neutral tokens stay, full from ${(r.calibration.floor + 3).toFixed(1)}). Factual text stays mostly uncoloured. Hover a token for its numbers.`
      : "Each token is coloured by its own readout (these vectors have no neutral calibration, so strength is not shown).";
    renderLegend(legend, colours);
    steerNote.textContent = app.state.steer.length
      ? `Steering: ${app.state.steer.map((s) => `${s.name} ${formatStrength(s.strength)}`).join(", ")} (change it in the Steer view).`
      : "";
    chips.replaceChildren(...app.state.track.map((n) => {
      const b = h("button", { type: "button", "aria-label": `remove ${n} from the trajectory` }, `${n} ×`);
      b.addEventListener("click", () => app.update({ track: app.state.track.filter((x) => x !== n) }));
      return h("li", {}, b);
    }));
    if (addTrack.options.length !== names.length + 1) {
      addTrack.replaceChildren(option("", "add an emotion…"), ...names.map((n) => option(n, n)));
    }
    drawCharts(!app.busy);
  }, DRAW_MS);

  scope.on((e) => {
    if (e.type === "generate-start") {
      picked = false;
      promptStream.clear();
      replyStream.clear();
    }
    if (e.type === "layer" || e.type === "done") layerNote.textContent = "";
    if (e.type === "done" && e.reason === "end" && continueChat.checked && !rereading) {
      const reply = (app.runs.main?.tokens ?? []).filter((t) => t.kind === "reply").map((t) => t.text).join("");
      app.history = [...sent, app.state.prompt, reply];
      showTurns();
    }
    if (e.type === "ready") fits();
    if (["prompt", "token", "state", "ready", "generate-start"].includes(e.type)) draw();
    if (e.type === "done") { draw(true); drawCharts(true); } // the last tokens now, not later
  });

  // What the model lacks: no chat template (no conversation, no template to show), no
  // emotion vectors (no readout: its controls and charts go).
  const readoutControls = h("div", { class: "controls" },
    h("label", {}, "colour tokens by ", colourBySelect(app, scope)),
    h("label", {}, "readout layer ", layer),
    h("label", {}, "smooth over ", windowSelect(app, scope)),
    h("label", {}, showTemplate, " show the chat template"),
  );
  const chatControls = h("div", { class: "controls" },
    h("label", {}, continueChat, " continue the conversation"),
    newChat,
    turnsNote,
  );
  const track = h("section", { class: "track", "aria-label": "trajectory" },
    h("h2", {}, "Emotions across the tokens"),
    h("p", { class: "meta" }, "Each chosen emotion's score at every token of the prompt and the reply (the paper's “desperate rises as the deadline nears”). With none chosen: the three highest on average over the reply."),
    h("div", { class: "controls" }, addTrack, chips),
    chart,
  );
  const exports = exportBar(app, scope, [
    { name: "trajectory", label: "Trajectory", svg: () => chart.querySelector("svg") },
    { name: "token", label: "Token", svg: () => readout.el.querySelector("svg") },
  ]);
  const fits = () => {
    const none = app.ready && !app.emotions;
    for (const el of [readoutControls, meaning, legend, exports, readout.el, track]) el.hidden = none;
    chatControls.hidden = app.ready && !app.chat;
    if (chatControls.hidden) continueChat.checked = false;
  };
  root.append(
    h("h2", { class: "visually-hidden" }, "Readout"),
    runPanel(app, scope, generate),
    modelNotes(app, scope, "replies are plain text, without a readout"),
    steerNote,
    readoutControls,
    chatControls,
    layerNote,
    meaning,
    legend,
    exports,
    h("div", { class: "chat-readout" },
      h("div", { class: "conversation" },
        h("section", { class: "bubble user", "aria-label": "prompt" }, h("h3", {}, "You"), promptBox),
        h("section", { class: "bubble model", "aria-label": "reply" }, h("h3", {}, app.model.short), replyBox),
      ),
      readout.el,
    ),
    track,
  );
  fits();
  draw();
  showTurns();
  return { dispose: () => scope.dispose(), generate };
}

export const view: ViewDef = { id: "readout", title: "Readout", order: 0, mount };
