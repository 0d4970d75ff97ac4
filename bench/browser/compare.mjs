// The browser half of bench/compare-janus.sh: time to first remote video frame and page weight,
// on Ricevo's real pages and on Janus's (the packaged VideoRoom demo and a minimal client on the
// packaged janus.js), in one headless Chromium with fake camera and microphone.
//
// It runs inside the benchmark's network namespace, next to both servers, and talks to nothing
// else. Every wait is bounded.
//
//   node compare.mjs --ricevo http://198.18.0.1:8080 --ricevo-token TOKEN \
//     --static 198.18.0.1:8090 --janus-demos /usr/share/janus/demos --minimal-dir ../janus \
//     --janus-room-base 3000 --runs 20 --warmup 1 --out results.json
//
// One run of a page: participant A opens the meeting and publishes; once A's video has
// flowed for a moment, participant B's page is opened in a fresh browser context (cold cache)
// and timed from its navigation start to the first decoded frame of A's video. Pages of the
// different servers take turns run by run, so slow moments of the shared machine hit all alike.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";
import { startStatic } from "./static.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const PROBE = readFileSync(join(HERE, "probe.js"), "utf8");

/** How long one participant may take to join and publish, or to see the other's video. */
const JOIN_WITHIN_MS = 30000;
/** How long A's video flows before B opens the page. */
const SETTLE_MS = 1000;
/** The steps of joining, in the order they usually happen, for the breakdown table. */
const STEPS = ["response", "dcl", "gum", "ws_open", "pc", "local_offer", "remote_answer", "remote_offer", "track", "ice", "dtls", "a_pli", "rtp", "pli_sent", "frame", "decoded"];

function options(argv) {
  const o = {
    ricevo: null,
    ricevoToken: null,
    static: "198.18.0.1:8090",
    janusDemos: "/usr/share/janus/demos",
    minimalDir: resolve(HERE, "../janus"),
    janusRoomBase: 3000,
    janusRooms: 200,
    runs: 20,
    warmup: 1,
    chromium: "/usr/bin/chromium",
    out: null,
    only: null,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    const key = k.replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in o) || v === undefined) throw new Error(`unknown option ${k}`);
    o[key] = typeof o[key] === "number" ? Number(v) : v;
  }
  if (!o.ricevo || !o.ricevoToken) throw new Error("--ricevo URL and --ricevo-token TOKEN are needed");
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (async, truthy when done) every `every` ms for at most `within` ms. */
async function until(what, check, within, every = 20) {
  const started = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - started > within) throw new Error(`${what}: not within ${within} ms`);
    await sleep(every);
  }
}

// ---- Ricevo: a walk-in ticket at the URP office, admitted by API, and a direct invitation --------

function ricevoApi(base, token) {
  const auth = { authorization: `Bearer ${token}` };
  async function call(method, path, body, withAuth = true) {
    const headers = { ...(withAuth ? auth : {}), ...(body ? { "content-type": "application/json" } : {}) };
    const r = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(10000) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  let office = null;
  return {
    /** A meeting with two direct links: A (an official, invited) and B (the citizen, admitted). */
    async meeting(n) {
      if (office === null) {
        const offices = await call("GET", "/api/v1/demo/offices", null, false);
        office = offices.find((o) => o.name.startsWith("URP")).id;
      }
      const ticket = await call("POST", `/api/v1/demo/offices/${office}/tickets`, { name: `Cittadino ${n}` }, false);
      const waiting = await call("GET", `/api/v1/demo/offices/${office}/waiting`);
      const entry = waiting.find((e) => e.ticket_number === ticket.ticket_number && e.status === "waiting");
      if (!entry) throw new Error(`ticket ${ticket.ticket_number} is not waiting`);
      const admitted = await call("POST", `/api/v1/demo/waiting/${entry.entry_id}/admit`);
      const meeting = admitted.meeting_id;
      const invite = await call("POST", `/api/v1/demo/meetings/${meeting}/invite`, { name: `Operatore ${n}`, role: "participant", direct: true });
      const abs = (u) => new URL(u, base).toString();
      return {
        a: abs(invite.join_url),
        b: abs(ticket.join_url),
        end: () => call("POST", `/api/v1/demo/meetings/${meeting}/end`).catch(() => {}),
      };
    },
    /** A citizen's link that waits: the device check and waiting room (for the page weight). */
    async waitingLink(n) {
      if (office === null) await this.meeting(`warm ${n}`).then((m) => m.end());
      const ticket = await call("POST", `/api/v1/demo/offices/${office}/tickets`, { name: `In attesa ${n}` }, false);
      return new URL(ticket.join_url, base).toString();
    },
  };
}

// ---- Janus's packaged demo: press "Start", give a name, press "Join", as soon as each works -----

function demoDriver(name) {
  // Runs in the page. The buttons get their handlers only after Janus.init and the plugin
  // attach, so it waits (5 ms steps) until jQuery reports a click handler on each.
  return `(function () {
    var stage = 0, t0 = Date.now();
    var timer = setInterval(function () {
      if (Date.now() - t0 > 30000) { clearInterval(timer); return; }
      var $ = window.jQuery;
      if (!$ || !$._data) return;
      var has = function (el) { var ev = el && $._data(el, "events"); return !!(ev && ev.click); };
      if (stage === 0) {
        var start = document.getElementById("start");
        if (has(start)) { start.click(); stage = 1; }
      } else {
        var register = document.getElementById("register");
        var user = document.getElementById("username");
        if (has(register) && user && $(user).is(":visible")) {
          user.value = ${JSON.stringify(name)};
          register.click();
          clearInterval(timer);
        }
      }
    }, 5);
  })();`;
}

// ---- Measuring a page ------------------------------------------------------------------------

/** Opens `url` in a new page of `context` with the probe (and an optional driver) installed. */
async function openPage(context, url, driver, weigh) {
  const page = await context.newPage();
  const console_ = [];
  page.on("console", (m) => console_.length < 200 && console_.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console_.push(`pageerror: ${e.message}`));
  const cdp = await page.createCDPSession();
  const net = new Map();
  if (weigh) {
    await cdp.send("Network.enable");
    cdp.on("Network.requestWillBeSent", (e) => net.set(e.requestId, { url: e.request.url, type: e.type, bytes: 0, done: false }));
    cdp.on("Network.loadingFinished", (e) => {
      const r = net.get(e.requestId);
      if (r) Object.assign(r, { bytes: e.encodedDataLength, done: true });
    });
  }
  // Before any of the page's scripts, and regardless of its Content-Security-Policy.
  await page.evaluateOnNewDocument(PROBE);
  if (driver) await page.evaluateOnNewDocument(driver);
  // Navigation starts here; the page's clock (performance.now) counts from it.
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: JOIN_WITHIN_MS });
  return { page, cdp, net, console: console_ };
}

/** True once `page` is connected and has sent `frames` video frames. */
async function publishing(page, frames) {
  return page.evaluate(async (frames) => {
    const p = window.__probe;
    if (!p) return false;
    for (const pc of p.pcs) {
      if (pc.connectionState !== "connected") continue;
      const stats = await pc.getStats();
      for (const s of stats.values()) if (s.type === "outbound-rtp" && s.kind === "video" && (s.framesSent || 0) >= frames) return true;
    }
    return false;
  }, frames);
}

async function marksOf(page) {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const m = { ...(window.__probe ? window.__probe.marks : {}) };
    if (nav) { m.response = nav.responseStart; m.dcl = nav.domContentLoadedEventStart; }
    return { marks: m, errors: window.__probe ? window.__probe.errors : ["no probe"] };
  });
}

/**
 * When the sender (A) got the first keyframe request (a_pli) and encoded the first keyframe
 * (a_key, less precise: the encoder's count shows up in getStats late) after B's navigation
 * started, in B's clock (both pages share the machine's clock through timeOrigin).
 */
async function keyframesAtSender(a, b) {
  const log = await a.evaluate(() => window.__probe.sending || []);
  const origin = await b.evaluate(() => performance.timeOrigin);
  const out = {};
  let prev = null;
  for (const [at, requests, keyframes] of log) {
    if (prev && at >= origin) {
      if (requests > prev[1] && out.a_pli === undefined) out.a_pli = at - origin;
      if (keyframes > prev[2] && out.a_key === undefined) out.a_key = at - origin;
    }
    prev = [at, requests, keyframes];
  }
  return out;
}

/** Bytes of every request the page made to its own origin (the Janus API and WebSockets excluded). */
async function weightOf(opened, pageUrl) {
  const origin = new URL(pageUrl).origin;
  const rows = [...opened.net.values()].filter((r) => r.done && r.url.startsWith(origin + "/"));
  const rt = await opened.page.evaluate((origin) => {
    const nav = performance.getEntriesByType("navigation")[0];
    const all = [nav, ...performance.getEntriesByType("resource")].filter((e) => e && e.name.startsWith(origin + "/"));
    return { transfer: all.reduce((s, e) => s + e.transferSize, 0), decoded: all.reduce((s, e) => s + e.decodedBodySize, 0) };
  }, origin);
  return {
    requests: rows.length,
    bytes: rows.reduce((s, r) => s + r.bytes, 0),
    resourceTiming: rt.transfer,
    uncompressed: rt.decoded,
    files: rows.map((r) => [r.url.slice(origin.length).replace(/\?.*$/, ""), r.bytes]),
  };
}

async function closePage(opened) {
  // about:blank first, so pages say goodbye (janus.js destroys its session on unload).
  await opened.page.goto("about:blank", { timeout: 5000 }).catch(() => {});
}

/** One run: A joins and publishes, then B's page is timed to A's first decoded frame. */
async function run(browser, target, n) {
  const plan = await target.plan(n);
  const ctxA = await browser.createBrowserContext();
  const ctxB = await browser.createBrowserContext();
  let a = null, b = null;
  try {
    a = await openPage(ctxA, plan.a, target.driver && target.driver("alice"), false);
    await until(`${target.name} A publishing`, () => publishing(a.page, 5), JOIN_WITHIN_MS);
    await sleep(SETTLE_MS);
    await a.page.evaluate((ms) => window.__probe.watchSending(ms), JOIN_WITHIN_MS + 5000);
    b = await openPage(ctxB, plan.b, target.driver && target.driver("bob"), true);
    await until(`${target.name} B first frame`, async () => (await marksOf(b.page)).marks.frame !== undefined, JOIN_WITHIN_MS, 50);
    // Let the getStats check catch up and late resources finish, then read everything.
    await until(`${target.name} B decoded`, async () => (await marksOf(b.page)).marks.decoded !== undefined, 5000, 50).catch(() => {});
    await sleep(300);
    const { marks, errors } = await marksOf(b.page);
    Object.assign(marks, await keyframesAtSender(a.page, b.page));
    const weight = await weightOf(b, plan.b);
    return { ok: true, marks, errors, weight };
  } catch (e) {
    const where = b || a;
    return { ok: false, error: String(e.message || e), console: where ? where.console.slice(-30) : [], marks: b ? (await marksOf(b.page).catch(() => ({}))).marks : null };
  } finally {
    for (const p of [b, a]) if (p) await closePage(p);
    await ctxB.close().catch(() => {});
    await ctxA.close().catch(() => {});
    if (plan.end) await plan.end();
  }
}

/** Page weight of a page that just waits (Ricevo's citizen before admission). */
async function weighOnly(browser, url, readyCheck) {
  const ctx = await browser.createBrowserContext();
  try {
    const opened = await openPage(ctx, url, null, true);
    await until("page ready", () => opened.page.evaluate(readyCheck), JOIN_WITHIN_MS);
    await sleep(1000);
    const w = await weightOf(opened, url);
    await closePage(opened);
    return w;
  } finally {
    await ctx.close().catch(() => {});
  }
}

// ---- Statistics and the table ------------------------------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
/** Nearest-rank percentile. */
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] : NaN;
}
const ms = (x) => (Number.isFinite(x) ? `${Math.round(x)}` : "–");
const kb = (x) => (Number.isFinite(x) ? `${(x / 1024).toFixed(1)} KB` : "–");

function summarize(targets, results, extraWeights) {
  const out = [];
  out.push("Time to first remote video frame (ms from navigation start of the second participant's page, cold cache)");
  out.push("");
  out.push("| page | runs ok | median | p90 | min | max |");
  out.push("|---|---|---|---|---|---|");
  const summary = {};
  for (const t of targets) {
    const runs = results[t.name];
    const ok = runs.filter((r) => r.ok);
    const frames = ok.map((r) => r.marks.frame);
    summary[t.name] = { median: median(frames), p90: pct(frames, 90), weight: ok.length ? ok[0].weight : null, ok: ok.length, runs: runs.length };
    out.push(`| ${t.label} | ${ok.length}/${runs.length} | **${ms(median(frames))}** | ${ms(pct(frames, 90))} | ${ms(Math.min(...frames))} | ${ms(Math.max(...frames))} |`);
  }
  out.push("");
  out.push("Where the time goes (median ms since navigation start at which each step is first reached; – = not on this page)");
  out.push("");
  out.push(`| page | ${STEPS.join(" | ")} |`);
  out.push(`|---|${STEPS.map(() => "---").join("|")}|`);
  for (const t of targets) {
    const ok = results[t.name].filter((r) => r.ok);
    const cells = STEPS.map((s) => {
      const xs = ok.map((r) => r.marks[s]).filter((x) => x !== undefined);
      return xs.length * 2 >= ok.length && xs.length ? ms(median(xs)) : "–";
    });
    out.push(`| ${t.label} | ${cells.join(" | ")} |`);
  }
  out.push("");
  out.push("Signalling messages on the WebSocket, first of each kind (median ms since navigation start; in = from the server)");
  out.push("");
  for (const t of targets) {
    const ok = results[t.name].filter((r) => r.ok);
    const names = [...new Set(ok.flatMap((r) => Object.keys(r.marks)))].filter((k) => k.startsWith("ws_"));
    if (!names.length) continue;
    const cells = names
      .map((k) => [k, median(ok.map((r) => r.marks[k]).filter((x) => x !== undefined))])
      .sort((a, b) => a[1] - b[1])
      .map(([k, v]) => `${k.replace("ws_in:", "in ").replace("ws_out:", "out ").replace("ws_open", "open")} ${ms(v)}`);
    out.push(`- ${t.label}: ${cells.join(", ")}`);
  }
  out.push("");
  out.push("Page weight (cold cache, same browser; bytes on the wire incl. headers, counted by CDP; the signalling API and WebSockets excluded)");
  out.push("");
  out.push("| page | requests | transferred | Resource Timing transferSize | uncompressed bodies |");
  out.push("|---|---|---|---|---|");
  const weights = [];
  for (const t of targets) {
    const w = summary[t.name].weight;
    if (w) weights.push([t.label, w]);
  }
  for (const [label, w] of [...weights, ...extraWeights]) {
    out.push(`| ${label} | ${w.requests} | **${kb(w.bytes)}** | ${kb(w.resourceTiming)} | ${kb(w.uncompressed)} |`);
  }
  out.push("");
  const r = summary.ricevo;
  const ratios = [];
  for (const t of targets) {
    if (t.name === "ricevo" || !r) continue;
    const j = summary[t.name];
    const tt = r.median / j.median;
    const ww = r.weight && j.weight ? r.weight.bytes / j.weight.bytes : NaN;
    ratios.push(`| Ricevo / ${t.label} | ${tt.toFixed(2)} | ${Number.isFinite(ww) ? ww.toFixed(2) : "–"} |`);
  }
  if (ratios.length) {
    out.push("| ratio | time to first frame (median) | page weight |");
    out.push("|---|---|---|");
    out.push(...ratios);
  }
  return { text: out.join("\n"), summary };
}

// ---- Main --------------------------------------------------------------------------------------

async function main() {
  const o = options(process.argv.slice(2));
  const [host, port] = o.static.split(":");
  const server = await startStatic({ host, port: Number(port), demosDir: o.janusDemos, minimalDir: o.minimalDir, log: (m) => process.stderr.write(m + "\n") });
  const pages = `http://${o.static}`;
  const ricevo = ricevoApi(o.ricevo, o.ricevoToken);
  let room = o.janusRoomBase;
  const nextRoom = () => {
    if (room >= o.janusRoomBase + o.janusRooms) throw new Error("out of Janus rooms: raise the number of rooms in the Janus configuration");
    return room++;
  };
  const targets = [
    { name: "ricevo", label: "Ricevo (citizen's page)", plan: (n) => ricevo.meeting(n) },
    {
      name: "janus-demo",
      label: "Janus videoroom demo (packaged, HTTP API)",
      driver: demoDriver,
      plan: () => { const r = nextRoom(); return { a: `${pages}/demo/videoroomtest.html?room=${r}`, b: `${pages}/demo/videoroomtest.html?room=${r}` }; },
    },
    {
      name: "janus-minimal",
      label: "Janus minimal client (janus.js, WebSockets)",
      plan: () => { const r = nextRoom(); return { a: `${pages}/minimal/minimal.html?room=${r}&name=alice`, b: `${pages}/minimal/minimal.html?room=${r}&name=bob` }; },
    },
  ].filter((t) => !o.only || o.only.split(",").includes(t.name));

  const profile = mkdtempSync(join(tmpdir(), "ricevo-cmp-chromium-"));
  const insecureOk = [new URL(o.ricevo).origin, pages].join(",");
  const browser = await puppeteer.launch({
    executablePath: o.chromium,
    headless: true,
    userDataDir: profile,
    protocolTimeout: 60000,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
      "--autoplay-policy=no-user-gesture-required",
      // getUserMedia needs a secure context; these test origins are plain http on 198.18.0.1.
      `--unsafely-treat-insecure-origin-as-secure=${insecureOk}`,
    ],
  });
  const version = await browser.version();
  process.stderr.write(`browser: ${version}\n`);
  const results = {};
  for (const t of targets) results[t.name] = [];
  const extraWeights = [];
  try {
    const total = o.warmup + o.runs;
    for (let i = 0; i < total; i++) {
      for (const t of targets) {
        const r = await run(browser, t, i);
        const tag = i < o.warmup ? "warm-up" : `run ${i - o.warmup + 1}/${o.runs}`;
        process.stderr.write(`${t.name} ${tag}: ${r.ok ? `first frame ${Math.round(r.marks.frame)} ms` : `FAILED ${r.error}`}\n`);
        if (!r.ok) process.stderr.write(r.console.map((l) => `    ${l}`).join("\n") + "\n");
        if (i >= o.warmup) results[t.name].push(r);
      }
    }
    if (targets.some((t) => t.name === "ricevo")) {
      const url = await ricevo.waitingLink("peso");
      const w = await weighOnly(browser, url, () => window.ricevo && window.ricevo.state === "check" && !!document.getElementById("device-status").textContent);
      extraWeights.push(["Ricevo citizen's page at the device check, before admission", w]);
    }
  } finally {
    await browser.close().catch(() => {});
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  const { text, summary } = summarize(targets, results, extraWeights);
  if (o.out) writeFileSync(o.out, JSON.stringify({ browser: version, options: { runs: o.runs, warmup: o.warmup }, summary, results, extraWeights }, null, 1));
  process.stdout.write(text + "\n");
}

main().catch((e) => {
  process.stderr.write(`compare.mjs: ${e.stack || e}\n`);
  process.exit(1);
});
