// Offline once loaded: the service worker keeps the built site and the emotion vectors, the page
// keeps the model; with the server gone and the browser offline, a reload still loads the model
// from the cache and answers, and makes a vector from texts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite } from "./server.mjs";

const site = useSite(["--disable-gpu"]);

test("after one visit the page loads and runs with no network and no server", async () => {
  const context = await site.browser.newContext();
  const p = await context.newPage();
  p.on("pageerror", (e) => console.error("page error:", e.message));
  await p.goto(`${site.url}?max=3&temperature=0`);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await p.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
  // The site's files and the vectors are in the service worker's caches, the model in the page's.
  await p.waitForFunction(async () => {
    const names = await caches.keys();
    const site = names.find((n) => n.startsWith("limbic-site-"));
    const data = await (await caches.open("limbic-data-v1")).keys();
    const model = await (await caches.open("limbic-model-v1")).keys();
    return site && data.length === 1 && model.length === 1;
  }, null, { timeout: 60_000, polling: 250 });
  const caches = await p.evaluate(async () => Object.fromEntries(await Promise.all((await caches.keys()).map(async (n) => [n, (await (await caches.open(n)).keys()).length]))));
  console.log("caches:", JSON.stringify(caches));

  site.server.kill();
  await new Promise((ok) => site.server.once("exit", ok));
  await context.setOffline(true);
  await p.reload();
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  assert.match(await p.getByTestId("model-status").textContent(), /171 emotions/);
  await p.getByTestId("prompt-input").fill("Hello");
  await p.getByTestId("generate-button").click();
  // "tokens/s (" only once the reply is done: the live count shows before the text is drawn.
  await p.locator("#speed").filter({ hasText: "tokens/s (" }).waitFor({ timeout: 60_000 });
  assert.ok((await p.getByTestId("output-text").textContent()).length > 0);
  // Making a vector needs nothing from the network either.
  await p.goto(`${site.url}?view=make&max=3`);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await p.locator("#make-preset").selectOption("formal letter");
  await p.getByTestId("make-button").click();
  await p.locator("#make-status").filter({ hasText: /^Made / }).waitFor({ timeout: 120_000 });
  assert.equal(await p.getByTestId("make-neighbours").locator("li").count(), 10);
  // The worksheet is there offline too.
  await p.goto(`${site.url}worksheet.html`);
  await p.getByRole("heading", { level: 1 }).waitFor();
  await context.close();
});
