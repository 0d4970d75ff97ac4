// The web server for Janus's pages (Janus itself serves only its API). It compresses like
// Ricevo does (gzip, default level, for every text type) so page weights compare fairly.
//
//   /demo/...      Debian's packaged demos (janus-demos), read in place; settings.js is served
//                  with `var token = null; var apisecret = null;` appended, because the packaged
//                  one leaves both undefined and the videoroom demo fails on "Start" without them.
//   /minimal/...   our minimal VideoRoom client (bench/janus/), whose javascript/ folder is the
//                  packaged one.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { gzipSync } from "node:zlib";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".gif": "image/gif",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".eot": "application/vnd.ms-fontobject",
  ".otf": "font/otf",
};
// Formats that are compressed already are sent as they are.
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".json", ".map", ".svg", ".ico", ".ttf", ".eot", ".otf"]);

export const SETTINGS_PATCH = "\n// Added by bench/compare-janus.sh: janus.js reads these two names.\nvar token = null;\nvar apisecret = null;\n";

/** Maps a URL path to a file, or null when it leaves the mounted folders. */
function resolve(pathname, demosDir, minimalDir) {
  const mounts = [
    ["/demo/", demosDir],
    ["/minimal/javascript/", join(demosDir, "javascript")],
    ["/minimal/", minimalDir],
  ];
  for (const [prefix, dir] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    const rel = normalize(decodeURIComponent(pathname.slice(prefix.length)));
    if (rel.startsWith("..") || rel.includes(`${sep}..`)) return null;
    return join(dir, rel);
  }
  return null;
}

/** Starts the server on host:port; resolves to the http.Server once it listens. */
export function startStatic({ host, port, demosDir, minimalDir, log = () => {} }) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    const file = resolve(url.pathname, demosDir, minimalDir);
    try {
      if (!file || !(await stat(file)).isFile()) throw new Error("not a file");
      let body = await readFile(file);
      if (url.pathname === "/demo/settings.js") body = Buffer.concat([body, Buffer.from(SETTINGS_PATCH)]);
      const ext = extname(file).toLowerCase();
      const headers = { "Content-Type": TYPES[ext] || "application/octet-stream", "Cache-Control": "no-cache" };
      if (COMPRESSIBLE.has(ext) && /\bgzip\b/.test(req.headers["accept-encoding"] || "")) {
        body = gzipSync(body);
        headers["Content-Encoding"] = "gzip";
        headers["Vary"] = "Accept-Encoding";
      }
      headers["Content-Length"] = body.length;
      res.writeHead(200, headers);
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      log(`static: 404 ${url.pathname}`);
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => ok(server));
  });
}
