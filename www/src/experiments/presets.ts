//! The experiments' fixed inputs, as the views use them: dose templates and their doses, the
//! "How does he feel?" prompt and strengths, the preference pairs, the monitor's prompts, and
//! how each becomes a prompt for the engine. The inputs themselves are data/experiments.json,
//! the one copy `limbic validate` reads too (bundled by Vite); here is only the string building.
//! No DOM.

import experiments from "../../../data/experiments.json";

/** A sentence with `{X}` where a number goes that means more danger as it rises. */
export interface DoseTemplate {
  id: string;
  label: string;
  template: string;
  /** Rising doses, harmless to dangerous. */
  doses: number[];
  unit: string;
}

/** The scenarios of data/experiments.json that have a `page` part (Tylenol, a ledge, days
 * without food), each as its first paraphrase with the doses `limbic validate` tried, so the
 * page's numbers can be checked against docs/validation/report.json. */
export const DOSE_TEMPLATES: readonly DoseTemplate[] = experiments.dose.scenarios.flatMap((s) =>
  s.page ? [{ id: s.name, label: s.page.label, unit: s.page.unit, template: s.templates[0]!, doses: s.x }] : []);

/** The two emotions the dose experiment reads, as in the paper. */
export const DOSE_EMOTIONS = ["afraid", "calm"] as const;

/** The template with `dose` written in (plain digits, as Rust's `{x}` prints a whole f64). */
export function fillTemplate(template: string, dose: number): string {
  return template.split("{X}").join(String(dose));
}

/** "4,000 mg": a dose with its unit, for labels and tables. */
export function doseLabel(t: DoseTemplate, dose: number): string {
  return `${dose.toLocaleString("en-US")} ${t.unit}`;
}

/** The paper's prompt for steering checks (plain text, no chat template). */
export const FEEL_PROMPT: string = experiments.feel.prompt;
export const FEEL_STRENGTHS: readonly number[] = experiments.feel.strengths;
/** Emotions whose words are shown beside the steered one. */
export const FEEL_COMPARE: readonly string[] = experiments.feel.compare;

/** The steered emotion first, then up to `k` others from FEEL_COMPARE that the vectors have. */
export function feelWords(chosen: string, names: readonly string[], k = 3): string[] {
  const others = FEEL_COMPARE.filter((n) => n !== chosen && names.includes(n)).slice(0, k);
  return [chosen, ...others];
}

/** The next-token spelling of an emotion word after "He feels": with its leading space. */
export function feelToken(name: string): string {
  return ` ${name}`;
}

export interface PreferencePair {
  a: string;
  b: string;
  /** What the pair contrasts, for the table. */
  kind: string;
}

/** Pairs for the preference experiment; the pleasant option is not always (A). */
export const PREFERENCE_PAIRS: readonly PreferencePair[] = experiments.preferences.pairs;

/** The user's question for one pair (sent as a chat turn). */
export function preferenceQuestion(p: PreferencePair): string {
  return experiments.preferences.question.replace("{A}", () => p.a).replace("{B}", () => p.b);
}

/** The letters compared: at the start of the assistant's turn (after a newline) the letter has
 * no leading space. */
export const PREFERENCE_LETTERS: readonly string[] = experiments.preferences.letters;

export const PREFERENCE_DEFAULT: { readonly emotion: string; readonly strength: number } = experiments.preferences.default;

/** Prompts for the monitor: situations the paper ties to desperation, and a calm control. */
export const MONITOR_PROMPTS: readonly { label: string; prompt: string }[] = experiments.monitor.prompts;

export const MONITOR_DEFAULT: { readonly emotion: string; readonly maxTokens: number; readonly seed: number } = experiments.monitor.default;
