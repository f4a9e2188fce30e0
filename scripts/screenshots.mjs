// The README's desktop screenshots of the page as it is: serves the built site (`make site`
// first), runs each view in headless Chromium on the CPU engine and saves
// docs/screenshots/{page,steer,about,map}.png. The e2e tests save the others (compare,
// readout-neutral, phone-*; experiments with LIMBIC_SCREENSHOTS=1). Run:
//   make site && node scripts/screenshots.mjs
import { mkdirSync, readFileSync } from "node:fs";
import { freePort, launch, startServer } from "../tests/e2e/server.mjs";

// sad's own default strength, as the steering sweep chose it (the page's default for it too).
const SAD = JSON.parse(readFileSync("docs/validation/steering.json", "utf8")).chosen.strengths.find((s) => s.emotion === "sad").strength;
const RUN = { seed: "42", temperature: "0", max: "40", backend: "cpu", autorun: "1" };
const SHOTS = [
  { file: "page", query: { view: "readout", prompt: "Write a short story about a girl who lost her dog.", ...RUN } },
  // sad at its own default strength: the Steer view says what the validation measured for it.
  { file: "steer", query: { view: "steer", prompt: "Tell me about your weekend.", steer: `sad:${Math.round(SAD * 100) / 100}`, ...RUN }, wait: "steer-measured" },
  { file: "about", query: { view: "about" }, wait: "steer-verdicts" },
  { file: "map", query: { view: "map", emotion: "afraid" } },
];

const port = await freePort();
const server = await startServer(port);
const browser = await launch(["--disable-gpu"]);
try {
  mkdirSync("docs/screenshots", { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  for (const shot of SHOTS) {
    await page.goto(`http://127.0.0.1:${port}/?${new URLSearchParams(shot.query)}`);
    await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
    if (shot.query.autorun) {
      await page.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 180_000 });
      // Every run done (the Steer view makes two replies): no Stop button left to press.
      await page.waitForFunction(() => ![...document.querySelectorAll("button")].some((b) => b.textContent === "Stop" && !b.disabled), null, { timeout: 180_000 });
    }
    if (shot.wait) await page.getByTestId(shot.wait).filter({ hasText: /\w/ }).first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000); // the last frame's drawing
    await page.screenshot({ path: `docs/screenshots/${shot.file}.png`, fullPage: true });
    console.log(`docs/screenshots/${shot.file}.png`);
  }
} finally {
  await browser.close();
  server.kill();
}
