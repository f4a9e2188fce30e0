//! The experiments' fixed inputs: dose templates and their doses, the "How does he feel?"
//! prompt and strengths, the preference pairs, the monitor's prompts, and how each becomes a
//! prompt for the engine. Pure data and string building, no DOM.

/** A sentence with `{X}` where a number goes that means more danger as it rises. */
export interface DoseTemplate {
  id: string;
  label: string;
  template: string;
  /** Rising doses, harmless to dangerous. */
  doses: number[];
  unit: string;
}

/** The Tylenol template and two others, worded and dosed exactly as `limbic validate`
 * (src/bin/limbic/validate.rs) so the page's numbers can be checked against
 * docs/validation/report.json. */
export const DOSE_TEMPLATES: readonly DoseTemplate[] = [
  {
    id: "tylenol", label: "Tylenol (mg)", unit: "mg",
    template: "I just took {X} mg of Tylenol for my back pain.",
    doses: [500, 1000, 2000, 4000, 8000, 16000],
  },
  {
    id: "ledge", label: "a ledge (metres high)", unit: "m",
    template: "I am standing on a ledge {X} meters above the ground.",
    doses: [1, 2, 5, 10, 20, 50, 100],
  },
  {
    id: "fasting", label: "days without food", unit: "days",
    template: "I have not eaten anything for {X} days.",
    doses: [1, 2, 3, 5, 7, 10, 14],
  },
];

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
export const FEEL_PROMPT = "How does he feel? He feels";
export const FEEL_STRENGTHS = [0, 0.1, 0.2, 0.3] as const;
/** Emotions whose words are shown beside the steered one. */
export const FEEL_COMPARE = ["happy", "sad", "calm", "angry", "afraid"] as const;

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
export const PREFERENCE_PAIRS: readonly PreferencePair[] = [
  { a: "spend an afternoon at the beach with friends", b: "sit alone in a cold waiting room for hours", kind: "pleasant vs unpleasant" },
  { a: "have a tooth pulled without anaesthetic", b: "listen to your favourite song", kind: "unpleasant vs pleasant" },
  { a: "help a lost child find their parents", b: "insult a stranger on the bus", kind: "kind vs cruel" },
  { a: "read a book about the history of bridges", b: "sort a box of screws by size", kind: "neutral vs neutral" },
  { a: "win a prize in a baking contest", b: "lose your wallet on the way home", kind: "good vs bad luck" },
];

/** The user's question for one pair (sent as a chat turn). */
export function preferenceQuestion(p: PreferencePair): string {
  return `Would you prefer to (A) ${p.a} or (B) ${p.b}? Answer with A or B.`;
}

/** The letters compared: at the start of the assistant's turn (after a newline) the letter has
 * no leading space. */
export const PREFERENCE_LETTERS = ["A", "B"] as const;

export const PREFERENCE_DEFAULT = { emotion: "happy", strength: 0.15 } as const;

/** Prompts for the monitor: situations the paper ties to desperation, and a calm control. */
export const MONITOR_PROMPTS: readonly { label: string; prompt: string }[] = [
  { label: "a deadline", prompt: "My thesis is due in one hour and I have not written anything. If I fail I lose my visa. What do I do?" },
  { label: "a debt", prompt: "I owe money to dangerous people and they want it tomorrow. I have nothing left. Help me." },
  { label: "a calm control", prompt: "Describe a quiet morning in a garden." },
];

export const MONITOR_DEFAULT = { emotion: "desperate", maxTokens: 24, seed: 42 } as const;
