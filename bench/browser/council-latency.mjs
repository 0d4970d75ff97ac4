// Camera-to-screen latency of a council session's public stream, in one headless Chromium.
//
//   node council-latency.mjs --server PATH/TO/ricevo [--seconds 60] [--warmup 10]
//   node council-latency.mjs --chair URL --viewer URL [--seconds 60] [--warmup 10]
//
// With --server it starts that binary on loopback with a fresh data folder (the demo town),
// signs in as the demo's administrator, schedules a session on the staff form (a chair and a
// councillor) and takes the chair's link from the page that shows it once.
//
// The chair's page (its personal link) gets a camera that paints the wall clock into every
// frame (clock.js, injected before the page's scripts); the chair opens the session, so the
// stream shows the chair. The public page (--viewer) gets clock-reader.js, which reads the
// painted time on every frame its <video> presents and records now minus that time. Both pages
// run in the same browser on the same machine, so they share one clock. Prints one JSON object:
// { samples, unreadable, frames, median_ms, p90_ms, min_ms, max_ms, player }.
// Every wait is bounded; loopback only.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const o = { server: null, chair: null, viewer: null, seconds: 60, warmup: 10, chromium: "/usr/bin/chromium" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, "");
  if (!(key in o) || argv[i + 1] === undefined) throw new Error(`unknown option ${argv[i]}`);
  o[key] = typeof o[key] === "number" ? Number(argv[i + 1]) : argv[i + 1];
}
if (!o.server && (!o.chair || !o.viewer)) throw new Error("--server PATH, or --chair URL and --viewer URL, are needed");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    srv.on("error", reject);
  });
}

/** Cookies of a response as one Cookie header, merged into `jar`. */
function keep(jar, response) {
  for (const c of response.headers.getSetCookie()) jar[c.split("=")[0]] = c.split(";")[0];
  return Object.values(jar).join("; ");
}

const hidden = (html, name) => html.match(new RegExp(`name="${name}" value="([^"]+)"`))[1];

/** Starts ricevo (demo town), schedules a session, returns its URLs and the process. */
async function setUp(binary) {
  const data = mkdtempSync(join(tmpdir(), "ricevo-latency-data-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(binary, [], {
    env: { ...process.env, RICEVO_DATA_DIR: data, RICEVO_LISTEN: `127.0.0.1:${port}`, RICEVO_MEDIA_UDP: "127.0.0.1:0",
      RICEVO_PUBLIC_URL: base, RICEVO_LOG: "warn", RICEVO_RATE_LIMIT_PER_MINUTE: "100000" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  const password = await until("the demo town's password", () => out.match(/password (\S+)/)?.[1], 60000);
  const jar = {};
  let r = await fetch(`${base}/demo/staff/login`);
  let cookie = keep(jar, r);
  const login = await r.text();
  r = await fetch(`${base}/demo/staff/login`, { method: "POST", redirect: "manual", headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ login_csrf: hidden(login, "login_csrf"), email: "admin@esempio.it", password }) });
  cookie = keep(jar, r);
  r = await fetch(`${base}/demo/staff/consiglio`, { headers: { cookie } });
  const form = await r.text();
  const today = new Date().toISOString().slice(0, 10);
  r = await fetch(`${base}/demo/staff/consiglio`, { method: "POST", redirect: "manual", headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf: hidden(form, "csrf"), body: "council", body_name: "", title: "Seduta di prova", date: today, time: "18:00",
      items: "Bilancio", members: "Anna Presidente; presidente\nBruno Consigliere; consigliere", quorum: "1", speech_minutes: "" }) });
  const page = await r.text();
  const links = [...page.matchAll(/<code class="secret-value">([^<]+)<\/code>/g)].map((m) => m[1].replace(/&amp;/g, "&"));
  if (r.status !== 200 || links.length < 2) throw new Error(`scheduling failed (${r.status}): ${page.slice(0, 2000)}`);
  const session = page.match(/\/consiglio\/(\d+)\/membri\//)[1];
  return { child, data, chair: links[0], viewer: `${base}/demo/consiglio/${session}` };
}
async function until(what, check, within) {
  const started = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - started > within) throw new Error(`${what}: not within ${within} ms`);
    await sleep(100);
  }
}

const served = o.server ? await setUp(o.server) : null;
if (served) {
  o.chair = served.chair;
  o.viewer = served.viewer;
  // For a load generator run beside this one (BENCHMARKS.md, the public stream's viewers).
  console.error(`serving: ${JSON.stringify({ viewer: o.viewer, playlist: `${o.viewer}/live/index.m3u8`, pid: served.child.pid })}`);
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
  // A citizen presses play (muted here: no user gesture in a benchmark).
  await until("the stream's video", () => viewer.evaluate(() => {
    const v = document.querySelector("video");
    if (!v || v.readyState < 2) return false;
    v.muted = true;
    v.play().catch(() => {});
    return true;
  }), 60000);
  await until("the first readable frame on the viewer", () => viewer.evaluate(() => window.__latency && window.__latency.samples.length > 0), 60000);
  await sleep(o.warmup * 1000);
  await viewer.evaluate(() => { window.__latency.samples = []; window.__latency.unreadable = 0; window.__latency.frames = 0; });
  await sleep(o.seconds * 1000);
  const l = await viewer.evaluate(() => {
    const v = document.querySelector("video");
    const b = v && v.buffered.length ? [v.buffered.start(0), v.buffered.end(v.buffered.length - 1)] : [];
    return { ...window.__latency, player: window.Hls ? "hls.js" : "native", state: v && { time: v.currentTime, paused: v.paused, ready: v.readyState, buffered: b, error: v.error && v.error.message } };
  });
  const s = l.samples.slice().sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  console.log(JSON.stringify({
    samples: s.length, unreadable: l.unreadable, frames: l.frames,
    median_ms: q(0.5), p90_ms: q(0.9), min_ms: s[0], max_ms: s[s.length - 1], player: l.player, video: l.state,
  }));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  if (served) { served.child.kill(); rmSync(served.data, { recursive: true, force: true }); }
}
