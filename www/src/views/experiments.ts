//! Experiments (to be built): presets from the paper, each with a one-paragraph explanation.

import type { ViewDef } from "../app";
import { placeholder } from "./placeholder";

export const view: ViewDef = {
  id: "experiments",
  title: "Experiments",
  order: 3,
  mount: (root) => placeholder(root, "Experiments", "The paper's experiments, run live on this small model.", [
    "Dose: a slider over the Tylenol dose (and two other templates) with afraid and calm at the assistant's first token",
    "How does he feel?: steer with an emotion and watch p(emotion word) move",
    "Preferences: P(A) between two activities, read from the logits, with and without steering",
    "Monitor: a threshold line on a chosen emotion during generation",
  ]),
};
