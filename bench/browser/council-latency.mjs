// Camera-to-screen latency of a council session's public stream, in one headless Chromium.
//
//   node council-latency.mjs --chair URL --viewer URL [--seconds 60] [--warmup 10] [--player auto]
//
// The chair's page (its personal link) gets a camera that paints the wall clock into every
// frame (clock.js, injected before the page's scripts); the chair opens the session, so the
// stream shows the chair. The public page (--viewer) gets clock-reader.js, which reads the
// painted time on every frame its <video> presents and records now minus that time. Both pages
// run in the same browser on the same machine, so they share one clock. Prints one JSON object:
// { samples, unreadable, frames, median_ms, p90_ms, min_ms, max_ms, player }.
// Every wait is bounded; loopback only.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const o = { chair: null, viewer: null, seconds: 60, warmup: 10, chromium: "/usr/bin/chromium" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, "");
  if (!(key in o) || argv[i + 1] === undefined) throw new Error(`unknown option ${argv[i]}`);
  o[key] = typeof o[key] === "number" ? Number(argv[i + 1]) : argv[i + 1];
}
if (!o.chair || !o.viewer) throw new Error("--chair URL and --viewer URL are needed");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, check, within) {
  const started = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - started > within) throw new Error(`${what}: not within ${within} ms`);
    await sleep(100);
  }
}

const profile = mkdtempSync(join(tmpdir(), "ricevo-latency-"));
const browser = await puppeteer.launch({
  executablePath: o.chromium,
  headless: true,
  userDataDir: profile,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
  ],
});
try {
  const chair = await browser.newPage();
  chair.on("dialog", (d) => d.accept());
  await chair.evaluateOnNewDocument(readFileSync(join(HERE, "clock.js"), "utf8"));
  await chair.goto(o.chair, { waitUntil: "load", timeout: 30000 });
  await until("the chair's camera", () => chair.evaluate(() => window.__clockCamera === true), 20000);
  // Open the session if it is not open yet (the button is there only while it is scheduled).
  const open = await until("the chair's controls", () => chair.$('[data-do="open"], [data-do="call_roll"]'), 20000);
  if (await open.evaluate((b) => b.getAttribute("data-do") === "open" && !b.hidden && !b.disabled)) await open.click();

  const context = await browser.createBrowserContext();
  const viewer = await context.newPage();
  await viewer.evaluateOnNewDocument(readFileSync(join(HERE, "clock-reader.js"), "utf8"));
  await viewer.goto(o.viewer, { waitUntil: "load", timeout: 30000 });
  await until("the first readable frame on the viewer", () => viewer.evaluate(() => window.__latency && window.__latency.samples.length > 0), 60000);
  await sleep(o.warmup * 1000);
  await viewer.evaluate(() => { window.__latency.samples = []; window.__latency.unreadable = 0; window.__latency.frames = 0; });
  await sleep(o.seconds * 1000);
  const l = await viewer.evaluate(() => ({ ...window.__latency, player: window.Hls ? "hls.js" : "native" }));
  const s = l.samples.slice().sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  console.log(JSON.stringify({
    samples: s.length, unreadable: l.unreadable, frames: l.frames,
    median_ms: q(0.5), p90_ms: q(0.9), min_ms: s[0], max_ms: s[s.length - 1], player: l.player,
  }));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
