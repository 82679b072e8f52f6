// The demo page: the seed's example flow, wired to the local mock, with everything visible.
// 1. "Your backend" (POST /demo/start-call) fetches a token with a test key.
// 2. The browser starts the call with the stand-in SDK, exactly as with the real one.
import { EVENTS, ZentrixVoiceClient } from "/sdk/voice-client.js";

const $ = (selector) => document.querySelector(selector);
const form = $("#call-form");
const statusLine = $("#status");
const transcriptList = $("#transcript");
const eventLog = $("#event-log");
const buttons = {
  call: $("#call"),
  hangUp: $("#hang-up"),
  mute: $("#mute"),
  prefetch: $("#prefetch"),
  advance: $("#advance-clock"),
  callSaved: $("#call-saved"),
};

const client = new ZentrixVoiceClient();
let config = null;
let savedToken = null;
let callLanguage = "en";

function setStatus(text, state) {
  statusLine.textContent = text;
  statusLine.dataset.state = state;
}

function now() {
  return new Date().toISOString().slice(11, 23);
}

function log(event, detail, kind = "sdk") {
  const item = document.createElement("li");
  item.dataset.event = event;
  item.dataset.kind = kind;
  const time = document.createElement("time");
  time.textContent = now();
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = event;
  item.append(time, " ", name);
  if (detail !== undefined && detail !== null) {
    const code = document.createElement("code");
    code.textContent = typeof detail === "string" ? detail : JSON.stringify(detail);
    item.append(" ", code);
  }
  eventLog.append(item);
  eventLog.scrollTop = eventLog.scrollHeight;
}

function renderTranscript(transcript) {
  transcriptList.replaceChildren(
    ...transcript.map(({ role, content }) => {
      const line = document.createElement("li");
      line.className = `line ${role}`;
      line.dataset.role = role;
      line.lang = callLanguage;
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = role === "agent" ? config?.agentName ?? "Agent" : "You";
      const said = document.createElement("p");
      said.textContent = content;
      line.append(who, said);
      return line;
    }),
  );
  $("#transcript-empty").hidden = transcript.length > 0;
  transcriptList.lastElementChild?.scrollIntoView({ block: "nearest" });
}

function inCall(active) {
  buttons.call.disabled = active;
  buttons.callSaved.disabled = active || savedToken === null;
  buttons.hangUp.disabled = !active;
  buttons.mute.disabled = !active;
}

// Every SDK event goes to the log; some also drive the page.
for (const event of EVENTS) {
  client.on(event, (data, error) => {
    const shown = event === "update" ? data.transcript.at(-1) : data;
    log(event, error ? `${error.code}: ${shown}` : shown);
  });
}
client.on("call_started", () => setStatus("In call", "live"));
client.on("metadata", (data) => {
  callLanguage = data.language ?? "en";
  if (data.languageDetected) setStatus(`In call (detected: ${data.languageName})`, "live");
});
client.on("agent_start_talking", () => statusLine.classList.add("talking"));
client.on("agent_stop_talking", () => statusLine.classList.remove("talking"));
client.on("update", (data) => renderTranscript(data.transcript));
client.on("call_ended", () => {
  if (statusLine.dataset.state !== "error") setStatus("Call ended", "ended");
  inCall(false);
});
client.on("error", (message) => {
  setStatus(`Error: ${message}`, "error");
  inCall(client.isCalling);
});

/** What "your backend" answers: {ok, status, body}. */
async function fetchToken() {
  const data = new FormData(form);
  const response = await fetch("/demo/start-call", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      callerName: data.get("callerName"),
      language: data.get("language"),
      instanceId: data.get("instanceId"),
      apiKey: $("#api-key").value,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    log("token", `${response.status} callId ${body.callId} (${body.agentName})`, "backend");
  } else {
    const detail = body.detail ? ` (${body.detail})` : "";
    log("token", `${response.status} ${body.error ?? "no body"}${detail}`, "failure");
    setStatus(`Token request failed: ${response.status} ${body.error ?? ""}`.trim(), "error");
  }
  return { ok: response.ok, body };
}

/** A new attempt starts from a blank transcript, whatever the last one left. */
function clearTranscript() {
  transcriptList.replaceChildren();
  $("#transcript-empty").hidden = false;
}

async function startCall(accessToken) {
  setStatus("Connecting…", "busy");
  clearTranscript();
  inCall(true);
  await client.startCall({ accessToken });
  if (!client.isCalling) inCall(false);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  inCall(true);
  clearTranscript();
  setStatus("Getting a token…", "busy");
  const { ok, body } = await fetchToken();
  if (!ok) {
    inCall(false);
    return;
  }
  await startCall(body.accessToken);
});

buttons.hangUp.addEventListener("click", () => client.stopCall());

buttons.mute.addEventListener("click", () => {
  if (client.isMuted) client.unmute();
  else client.mute();
  buttons.mute.setAttribute("aria-pressed", String(client.isMuted));
  buttons.mute.textContent = client.isMuted ? "Unmute" : "Mute";
});

buttons.prefetch.addEventListener("click", async () => {
  const { ok, body } = await fetchToken();
  savedToken = ok ? body.accessToken : null;
  buttons.advance.disabled = !ok;
  buttons.callSaved.disabled = !ok;
  if (ok) setStatus("Token saved: it lives for " + config.tokenLifetimeSeconds + " s", "idle");
});

buttons.advance.addEventListener("click", async () => {
  const seconds = config.tokenLifetimeSeconds + 1;
  const response = await fetch("/_mock/clock/advance", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ seconds }),
  });
  log("clock", `advanced ${seconds} s (${response.status})`, "mock");
  if (response.ok) setStatus(`Mock clock moved ${seconds} s forward`, "idle");
  await showClock();
});

/** The mock's clock offset, so a moved clock is never a surprise. */
async function showClock() {
  const response = await fetch("/_mock/clock").catch(() => null);
  const line = $("#clock");
  if (!response?.ok) {
    line.textContent = "Mock clock: unknown";
    return;
  }
  const { offsetSeconds } = await response.json();
  line.dataset.offset = String(offsetSeconds);
  line.textContent =
    offsetSeconds === 0 ? "Mock clock: real time" : `Mock clock: +${offsetSeconds} s ahead`;
}

$("#reset").addEventListener("click", async () => {
  if (client.isCalling) client.stopCall();
  const response = await fetch("/_mock/reset", { method: "POST" });
  log("reset", `${response.status}`, response.ok ? "mock" : "failure");
  savedToken = null;
  buttons.advance.disabled = true;
  inCall(false);
  clearTranscript();
  if (response.ok) setStatus("Mock reset: tokens, calls, journal, clock, scenario", "idle");
  else setStatus(`Reset refused: ${response.status}`, "error");
  await Promise.all([showClock(), loadScenarios()]);
});

buttons.callSaved.addEventListener("click", () => startCall(savedToken));

$("#clear-log").addEventListener("click", () => eventLog.replaceChildren());

function option(value, label, selected = false) {
  const element = new Option(label, value, selected, selected);
  return element;
}

async function loadConfig() {
  config = await (await fetch("/demo/config")).json();
  $("#language").replaceChildren(
    ...config.languages.map(({ code, name }) =>
      option(code, code === "auto" ? "Auto-detect" : `${name} (${code})`, code === "en"),
    ),
  );
  $("#instance").append(
    ...config.instances.map(({ id, companyName }, index) => option(id, companyName, index === 0)),
  );
  $("#api-key").replaceChildren(
    ...config.apiKeys.map(({ apiKey, subscription }) =>
      option(apiKey, `${apiKey} (${subscription.replace("_", " ")})`, apiKey === config.defaultApiKey),
    ),
    option("nas_not_a_real_key", "nas_not_a_real_key (unknown key)"),
  );
}

async function loadScenarios() {
  const select = $("#scenario");
  const note = $("#scenario-note");
  const [list, active] = await Promise.all([
    fetch("/_mock/scenarios").catch(() => null),
    fetch("/_mock/scenario").catch(() => null),
  ]);
  if (!list?.ok || !active?.ok) {
    select.replaceChildren(option("", "(this mock has no scenarios)"));
    note.textContent = "This build of the mock has no scenario API.";
    return;
  }
  const { scenarios } = await list.json();
  const current = (await active.json()).name;
  const describe = () => {
    const chosen = scenarios.find(({ name }) => name === select.value);
    note.textContent = `${chosen?.description ?? ""} Switches the whole mock (PUT /_mock/scenario).`;
  };
  select.replaceChildren(...scenarios.map(({ name }) => option(name, name, name === current)));
  select.disabled = false;
  describe();
  select.onchange = async () => {
    describe();
    const response = await fetch("/_mock/scenario", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: select.value }),
    });
    const body = await response.json().catch(() => ({}));
    log("scenario", `${response.status} ${body.name ?? body.error}`, response.ok ? "mock" : "failure");
    if (response.ok) setStatus(`Scenario: ${body.name}`, "idle");
    else setStatus(`Scenario not switched: ${body.error}`, "error");
  };
}

await Promise.all([loadConfig(), loadScenarios(), showClock()]);
document.body.dataset.ready = "true";
