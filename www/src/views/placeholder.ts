//! A view still to be built: says so plainly and lists what it will show. Not a view itself
//! (exports no `view`); map, experiments and about use it until they are filled in.

import type { Mounted } from "../app";
import { h } from "../dom";

export function placeholder(root: HTMLElement, title: string, intro: string, plans: string[]): Mounted {
  root.append(
    h("h2", {}, title),
    h("p", {}, intro),
    h("p", { class: "meta" }, "Not built yet. It will show:"),
    h("ul", {}, ...plans.map((p) => h("li", {}, p))),
  );
  return { dispose: () => {} };
}
