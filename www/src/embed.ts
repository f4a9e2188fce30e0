//! embed.html: one compact view (Readout or Steer, from `?view=`) for an <iframe> on another
//! site, with the page's URL parameters, a link to the full page, and its height posted to the
//! page around it (only to an origin the browser vouches for: share/embed-parent.ts).

import "./style.css";
import { App, type Mounted } from "./app";
import { detectFeatures, missingNotes } from "./engine/features";
import { HEIGHT_MESSAGE, isHello, parentOrigin, usableOrigin } from "./share/embed-parent";
import { readMadeLink, watchLoading } from "./loading";
import { parseUrl, toQuery } from "./share/url-state";
import { formatBytes } from "./models";
import { view as readout } from "./views/readout";
import { view as steer } from "./views/steer";

const $ = (id: string) => document.getElementById(id)!;
const VIEWS = [readout, steer];

const parsed = parseUrl(location.search, VIEWS.map((v) => v.id), document.baseURI);
const app = new App(parsed.state);
const notes = [...parsed.warnings, ...readMadeLink(app, parsed)];
const showNotes = () => { $("link-note").textContent = notes.join("; "); };
showNotes();

const def = VIEWS.find((v) => v.id === app.state.view) ?? readout;
const mounted: Mounted = def.mount($("view"), app);
document.title = `limbic — ${def.title} (embedded)`;

// "open in limbic": the full page with this state, next to embed.html.
const full = $("open-full") as HTMLAnchorElement;
const refreshLink = () => { full.href = new URL(`./?${toQuery({ ...app.state, autorun: false })}`, location.href).href; };
app.on((e) => { if (e.type === "state") refreshLink(); });
refreshLink();

watchLoading(app, {
  status: $("status"), progress: $("progress") as HTMLProgressElement, backend: $("backend"), notice: $("notice"),
}, parsed, (w) => { notes.push(...w); showNotes(); }, () => mounted);

// Height reports to the page around us, when there is one.
let target = window.parent !== window ? parentOrigin(location.ancestorOrigins as DOMStringList | undefined) : null;
let lastHeight = -1;
const postHeight = () => {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (!target || height === lastHeight) return;
  lastHeight = height;
  window.parent.postMessage({ type: HEIGHT_MESSAGE, height }, target);
};
window.addEventListener("message", (e) => {
  if (e.source !== window.parent || window.parent === window || !isHello(e.data)) return;
  const origin = usableOrigin(e.origin);
  if (!origin) return;
  target = origin;
  lastHeight = -1;
  postHeight();
});
new ResizeObserver(postHeight).observe(document.documentElement);

// The link's model (?model=): its name and size at the foot.
const m = app.model;
$("embed-foot").textContent = `${m.name} running in this page${m.bytes ? ` (${formatBytes(m.bytes)}, downloaded once)` : ""}. ` +
  "Emotion readouts are functional representations in a network, not feelings.";

app.update({});
const features = await detectFeatures();
$("features").textContent = missingNotes(features).join(" ");
app.load(features);
