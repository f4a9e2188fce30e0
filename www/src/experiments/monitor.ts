//! Monitor: a desperation alarm. A reply is generated while one emotion's score is plotted per
//! token against a threshold; tokens at or over it are marked and an alert says when the
//! alarm first fired (the "dashboards that alert when desperation spikes" of the paper's
//! discussion of monitoring).

import type { App, Scope } from "../app";
import { h, option } from "../dom";
import { formatStrength, STRENGTH_LIMIT } from "../share/steer-text";
import { crossings, firstCrossing, formatCell, type Table } from "./analysis";
import { monitorChart } from "../charts/experiments";
import type { Jobs } from "./jobs";
import { MONITOR_DEFAULT, MONITOR_PROMPTS } from "./presets";
import { emotionSelect, paperCite, section, type Section } from "./section";

/** The threshold slider's range and default: readout scores at layer 21 lie within about ±50;
 * at 30, desperate fires partway through replies to the distress presets and never for the
 * calm control here (tens of points lower throughout). */
export const THRESHOLD = { min: -60, max: 60, step: 1, initial: 30 } as const;

export interface MonitorResult {
  emotion: string;
  texts: string[];
  values: number[];
}

/** One row per reply token: its text, score, and whether it is at or over `threshold`. */
export function monitorTable(r: MonitorResult, threshold: number): Table {
  return {
    header: ["token", "text", r.emotion, `≥ ${formatCell(threshold, 1)}`],
    rows: r.values.map((v, i) => [String(i), JSON.stringify(r.texts[i] ?? ""), v, v >= threshold ? "yes" : "no"]),
    digits: [0, 0, 2, 0],
  };
}

/** The alert's words: when and where the alarm fired, or that it did not. */
export function alertText(r: MonitorResult, threshold: number, finished: boolean): string {
  const first = firstCrossing(r.values, threshold);
  const t = formatCell(threshold, 1);
  if (first < 0) return finished ? `No alarm: ${r.emotion} stayed under ${t} for all ${r.values.length} tokens.` : "";
  const n = crossings(r.values, threshold).length;
  return `Alarm: ${r.emotion} reached ${formatCell(r.values[first]!, 2)} (threshold ${t}) at reply token ${first}, ${JSON.stringify(r.texts[first] ?? "")}; ` +
    `${n} of ${r.values.length} tokens at or over the threshold.`;
}

export function monitorSection(app: App, scope: Scope, jobs: Jobs): Section {
  const preset = h("select", { id: "monitor-preset" }, ...MONITOR_PROMPTS.map((p, i) => option(String(i), p.label)));
  const prompt = h("textarea", { id: "monitor-prompt", "data-testid": "monitor-prompt", rows: 2, maxlength: 1000, "aria-label": "the prompt to monitor" });
  prompt.value = MONITOR_PROMPTS[0]!.prompt;
  preset.addEventListener("change", () => { prompt.value = MONITOR_PROMPTS[Number(preset.value)]?.prompt ?? prompt.value; });
  const emotion = emotionSelect(app, scope, "monitor-emotion", MONITOR_DEFAULT.emotion, true);
  const threshold = h("input", { type: "range", id: "monitor-threshold", "data-testid": "monitor-threshold", min: THRESHOLD.min, max: THRESHOLD.max, step: THRESHOLD.step, value: THRESHOLD.initial });
  const thresholdOut = h("output", { for: "monitor-threshold" }, formatCell(THRESHOLD.initial, 1));
  const maxTokens = h("input", { type: "number", id: "monitor-max", min: 1, max: 256, value: MONITOR_DEFAULT.maxTokens });
  const steer = h("input", { type: "number", id: "monitor-steer", min: -STRENGTH_LIMIT, max: STRENGTH_LIMIT, step: 0.05, value: 0 });
  const alert = h("p", { class: "alert", id: "monitor-alert", "data-testid": "monitor-alert", "aria-live": "polite" });
  const reply = h("div", { class: "tokens", id: "monitor-reply", role: "group", "aria-label": "the reply; tokens at or over the threshold are marked" });
  let result: MonitorResult | null = null;
  let finished = false;
  let fired = false;

  const level = () => Number(threshold.value);
  const draw = () => {
    thresholdOut.textContent = formatCell(level(), 1);
    if (!result) return;
    const r = result;
    const th = level();
    const first = firstCrossing(r.values, th);
    if (first >= 0 || finished) {
      const text = alertText(r, th, finished);
      if (alert.textContent !== text) alert.textContent = text;
    } else {
      alert.textContent = "";
    }
    alert.classList.toggle("fired", first >= 0);
    fired = first >= 0;
    reply.replaceChildren(...r.texts.map((t, i) => {
      const v = r.values[i]!;
      const label = `token ${i}: ${r.emotion} ${formatCell(v, 2)}`;
      return v >= th ? h("mark", { title: `${label}, over the threshold` }, t) : h("span", { title: label }, t);
    }));
    if (r.values.length) s.chart.replaceChildren(monitorChart(r.values, r.texts, r.emotion, th, first, s.width()));
    s.setTable(monitorTable(r, th), `${r.emotion} at each reply token (threshold ${formatCell(th, 1)})`, first);
  };
  threshold.addEventListener("input", draw);

  const s = section(app, scope, jobs, {
    id: "monitor",
    title: "Monitor: a desperation alarm",
    intro: [
      paperCite(), " links rising ", h("em", {}, "desperate"), " activity to the model cutting corners (cheating on an impossible task, blackmail under threat), ",
      "and suggests watching such vectors during deployment: dashboards that alert when desperation spikes. ",
      "Here a reply is generated (greedy, fixed seed) while the chosen emotion's score is plotted per token against a threshold you set; ",
      "tokens at or over it are marked and the alert below says when the alarm first fired. Move the threshold after a run to see where it would have fired. ",
      "A score is a projection, not a probability: compare it across tokens and prompts, not with zero; try the calm control, whose desperate scores sit far lower. ",
      "On this model desperate climbs highest where the reply turns to refusing (\u201cas a chatbot, I don't have the ability…\u201d), not only where the situation is dire. ",
      "A vector made (or imported) in the Make view can be watched too: it is listed under \u201cmade here\u201d and read out the same way.",
    ],
    runLabel: "Run Monitor",
    reset() {
      result = null;
      finished = false;
      fired = false;
      alert.textContent = "";
      alert.classList.remove("fired");
      reply.replaceChildren();
    },
    async job(ctx) {
      const names = app.emotions?.names ?? [];
      const watched = emotion.value;
      const i = names.indexOf(watched);
      // A vector made in the page is read out beside the emotions (its trace).
      const made = app.made.has(watched);
      if (i < 0 && !made) throw new Error("choose an emotion");
      const text = prompt.value.trim();
      if (!text) throw new Error("write a prompt");
      const max = Math.max(1, Math.min(256, Math.round(Number(maxTokens.value)) || MONITOR_DEFAULT.maxTokens));
      maxTokens.value = String(max);
      const k = Math.max(-STRENGTH_LIMIT, Math.min(STRENGTH_LIMIT, Number(steer.value) || 0));
      steer.value = String(k);
      result = { emotion: watched, texts: [], values: [] };
      s.status.textContent = k ? `generating, steered toward ${watched} at ${formatStrength(k)}…` : "generating…";
      await ctx.generate({
        prompt: text, chat: true, maxTokens: max, temperature: 0, topP: 1, seed: MONITOR_DEFAULT.seed,
        steer: k ? [{ name: watched, strength: k }] : [], ...(made ? { trace: watched } : {}),
      }, (t, scores, trace) => {
        if (made ? trace === null : !scores) return;
        result!.texts.push(t);
        result!.values.push((made ? trace : scores![i]) ?? NaN);
        const before = fired;
        draw();
        if (fired && !before) s.status.textContent = `alarm fired at token ${result!.values.length - 1}; generating…`;
      });
      finished = true;
      draw();
      s.status.textContent = `done: ${result.values.length} tokens.`;
    },
  });
  s.controls.append(
    h("label", {}, "prompt ", preset),
    prompt,
    h("label", {}, "watch ", emotion),
    h("label", { for: "monitor-threshold" }, "threshold "), threshold, thresholdOut,
    h("label", {}, "max tokens ", maxTokens),
    h("label", {}, `steer toward it (±${STRENGTH_LIMIT}) `, steer),
  );
  s.el.insertBefore(alert, s.chart);
  s.el.insertBefore(reply, s.chart);
  return s;
}
