//! About: what the page shows and what it does not. (To be extended with the method, the
//! validation numbers from docs/validation/ and links.)

import type { ViewDef } from "../app";
import { h } from "../dom";

export const view: ViewDef = {
  id: "about",
  title: "About",
  order: 4,
  mount(root) {
    root.append(
      h("h2", {}, "What this shows, and what it does not"),
      h("p", {}, "Each emotion is one direction in the residual stream of SmolLM2-135M-Instruct, found with the method of Anthropic's \"Emotion Concepts and their Function in a Large Language Model\" (2026) from stories that never name the emotion. The readout is the projection of the residual stream on those directions; steering adds a direction to it. These are functional representations in a network, not feelings."),
      h("p", {}, "The vectors pick out the emotion of stories they never saw (top-1 of 171 for 44% of held-out stories at layer 21), and adding them steers what the model says about feelings. But on this 135M model they do not track danger the way the paper's frontier model does: as a Tylenol dose in the prompt rises from 500 to 16,000 mg, afraid falls. The full validation is in docs/validation/report.md in the repository."),
      h("p", { class: "meta" }, "Still to come here: the method step by step, the validation figures and links."),
    );
    return { dispose: () => {} };
  },
};
