import { expect, test } from "vitest";
import emotionsJson from "../../data/emotions.json?raw";
import html from "../worksheet.html?raw";
import { checkNames, parseUrl } from "./share/url-state";

const VIEWS = ["readout", "steer", "map", "experiments", "about", "make"];
const NAMES = (JSON.parse(emotionsJson) as { name: string }[]).map((e) => e.name);
const links = [...html.matchAll(/href="(\.\/\?[^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, "&"));

test("the worksheet links open views with a fixed seed, greedy or seeded, and nothing a link would drop", () => {
  expect(links.length).toBeGreaterThanOrEqual(15);
  for (const link of links) {
    const q = new URL(link, "https://x.example/").searchParams;
    expect(q.get("seed"), link).toMatch(/^\d+$/);
    expect(q.get("temperature"), link).not.toBeNull();
    const parsed = parseUrl(`?${q}`, VIEWS);
    const checked = checkNames(parsed.state, parsed.steerText, NAMES, 30);
    expect([...parsed.warnings, ...checked.warnings], link).toEqual([]);
    expect(VIEWS).toContain(q.get("view"));
  }
});

test("every experiment of the worksheet has a section and questions with a place to answer", () => {
  for (const id of ["readout", "steering", "dose", "feel", "prefs", "monitor", "make"]) expect(html).toContain(`id="${id}"`);
  expect((html.match(/<textarea/g) ?? []).length).toBeGreaterThanOrEqual(13);
  expect(html).not.toMatch(/<script/i);
});
