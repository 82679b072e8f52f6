// The customer's app on its own loopback origin: the built page, and the seed's backend route
// (the platform docs' Next.js route, with the platform's URL taken from NEURA_API_BASE so it
// can point at the mock). Usage: node server.mjs DIST_DIR; prints its URL, then serves.
// MOCK_SCENARIO, when set, is sent as X-Mock-Scenario (a backend choosing a scenario per request).
// BACKEND=hardened serves the README's hardened route (src/hardened-route.js, as printed)
// instead; the page's 'your-agent-uuid' placeholder is then filled in with AGENT_ID here, and
// the scenario may come from the page's `mock-scenario` cookie (one server, many scenarios).
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { POST as HARDENED_POST } from "./src/hardened-route.js";

const dist = process.argv[2];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
const hardened = process.env.BACKEND === "hardened";

let scenario = process.env.MOCK_SCENARIO; // the hardened route's, for the request at hand
if (hardened) {
  const platformFetch = globalThis.fetch;
  globalThis.fetch = (url, init = {}) =>
    platformFetch(url, {
      ...init,
      headers: { ...init.headers, ...(scenario ? { "X-Mock-Scenario": scenario } : {}) },
    });
}

// Your backend endpoint that your frontend calls
export async function POST(request) {
  const { agentId, callerName } = await request.json();
  const tokenResponse = await fetch(`${process.env.NEURA_API_BASE}/api/widget/token`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${process.env.NEURA_API_KEY}`,
      "Content-Type": "application/json",
      ...(process.env.MOCK_SCENARIO ? { "X-Mock-Scenario": process.env.MOCK_SCENARIO } : {}),
    },
    body: JSON.stringify({ agentId: process.env.AGENT_ID ?? agentId, callerName }),
  });
  const data = await tokenResponse.json();
  return Response.json(data);
}

async function serveFile(path, response) {
  const file = normalize(join(dist, path === "/" ? "index.html" : path));
  if (!file.startsWith(normalize(dist))) return response.writeHead(404).end();
  try {
    const body = await readFile(file);
    response.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://app");
  if (req.method === "POST" && url.pathname === "/api/start-call") {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    let body = Buffer.concat(chunks).toString();
    if (hardened) {
      body = body.replace("your-agent-uuid", process.env.AGENT_ID);
      const cookie = /(?:^|;\s*)mock-scenario=([\w-]+)/.exec(req.headers.cookie ?? "");
      scenario = cookie ? cookie[1] : process.env.MOCK_SCENARIO;
    }
    const route = hardened ? HARDENED_POST : POST;
    const answer = await route(new Request(url, { method: "POST", body }));
    res.writeHead(answer.status, { "Content-Type": "application/json" });
    res.end(await answer.text());
    return;
  }
  await serveFile(url.pathname, res);
});
server.listen(0, "127.0.0.1", () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
