/**
 * A stand-in for the platform's Voice Web SDK (`zentrix-voice-sdk`), served by mockplatform
 * two ways, from this one file:
 *
 *   - as an npm package: `npm install http://127.0.0.1:8080/sdk/zentrix-voice-sdk.tgz`, then
 *     the platform's own `import { ZentrixVoiceClient } from "zentrix-voice-sdk"`, bundled
 *     like any package. The mock writes its own URL into the package as it serves it
 *     (PACKAGED_BASE_URL below), so the bundled copy knows where the mock is;
 *   - as a plain ES module at /sdk/voice-client.js, imported by URL (no build step): it then
 *     finds the mock from its own URL.
 *
 *   const client = new ZentrixVoiceClient();            // or ({ baseUrl: "http://127.0.0.1:8080" })
 *   client.on("call_started", () => console.log("Call connected"));
 *   client.on("update", ({ transcript }) => console.log(transcript.at(-1)));
 *   client.on("error", (message) => console.error(message));
 *   await client.startCall({ accessToken });
 *
 * Like the real SDK, startCall never throws: an expired, unknown or used token emits `error`
 * with the platform's message ("Access token expired", ...) and never `call_started`. An
 * `error` nobody listens to goes to console.error, as Node's EventEmitter does for 'error'.
 *
 * Events: call_started, call_ready, metadata (object), agent_start_talking,
 * agent_stop_talking, update ({transcript: [{role, content}], turntaking}), call_ended,
 * error (a string). Types: voice-client.d.ts beside this file.
 */

export const EVENTS = Object.freeze([
  "call_started",
  "call_ready",
  "call_ended",
  "agent_start_talking",
  "agent_stop_talking",
  "update",
  "metadata",
  "error",
]);

/** The mock's URL, written in by the mock when it serves this file as an npm package. */
const PACKAGED_BASE_URL = "";
/** Where the mock serves this file as a plain module. */
const SERVED_PATH = "/sdk/voice-client.js";
const BASE_URL_HINT = 'pass the mock\'s URL: new ZentrixVoiceClient({ baseUrl: "http://127.0.0.1:8080" })';

/**
 * Where the mock is, when no `baseUrl` is given: the URL packaged in, else the mock this
 * module was imported from. A copied or bundled file cannot tell (its URL is the app's, and
 * an IIFE bundle has no import.meta.url at all): null, and startCall says so.
 */
function defaultBaseUrl() {
  if (PACKAGED_BASE_URL) return PACKAGED_BASE_URL;
  let here;
  try {
    here = new URL(import.meta.url);
  } catch {
    return null;
  }
  return here.pathname.endsWith(SERVED_PATH) ? new URL("..", here).href : null;
}

export class ZentrixVoiceClient {
  #baseUrl;
  #listeners = new Map();
  #socket = null;
  #calling = false; // between startCall and the end of the call
  #started = false; // call_started was emitted and call_ended not yet
  #muted = false;

  /** @param {{baseUrl?: string}} [options] where the mock runs (default: defaultBaseUrl()) */
  constructor(options = {}) {
    this.#baseUrl = options.baseUrl ?? defaultBaseUrl();
  }

  get isCalling() {
    return this.#calling;
  }

  get isMuted() {
    return this.#muted;
  }

  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return this;
  }

  off(event, listener) {
    if (listener === undefined) this.#listeners.delete(event);
    else this.#listeners.get(event)?.delete(listener);
    return this;
  }

  /** Redeem the token and join the call. Resolves once connected or failed; never rejects. */
  async startCall({ accessToken } = {}) {
    if (this.#calling) {
      this.#emit("error", "A call is already in progress: stopCall() first");
      return;
    }
    if (typeof accessToken !== "string" || accessToken === "") {
      const got = accessToken === undefined ? "none" : JSON.stringify(accessToken);
      this.#emit(
        "error",
        `startCall needs { accessToken }: the token your backend fetched (got ${got}: did the token request fail?)`,
      );
      return;
    }
    this.#calling = true;
    const started = await this.#redeem(accessToken);
    if (started === null) {
      this.#calling = false;
      return;
    }
    await this.#connect(started.callUrl);
  }

  /** Hang up. Emits call_ended if the call had started. */
  stopCall() {
    const socket = this.#socket;
    this.#socket = null;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "stop" }));
      socket.close(1000, "stopCall");
    } else if (socket) {
      socket.close();
    }
    this.#finish();
  }

  /** Microphone state only: the simulated call has no audio, so nothing is emitted. */
  mute() {
    this.#muted = true;
  }

  unmute() {
    this.#muted = false;
  }

  async #redeem(accessToken) {
    if (this.#baseUrl === null) {
      this.#emit(
        "error",
        `ZentrixVoiceClient cannot tell where the mock is (this copy was not loaded from its ${SERVED_PATH}): ${BASE_URL_HINT}`,
      );
      return null;
    }
    let url;
    try {
      url = new URL("api/widget/calls", this.#baseUrl).href;
    } catch {
      this.#emit("error", `baseUrl ${JSON.stringify(this.#baseUrl)} is not a URL: ${BASE_URL_HINT}`);
      return null;
    }
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ accessToken }),
      });
    } catch (error) {
      this.#emit(
        "error",
        `Could not reach the voice platform at ${url} (${error.message}): is the mock running there? If not, ${BASE_URL_HINT}`,
      );
      return null;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      // The mock's own refusals carry the platform's message; anything else is another server.
      const message =
        typeof body?.error === "string"
          ? body.error
          : `The voice platform answered ${response.status} at ${url}: is that the mock? If not, ${BASE_URL_HINT}`;
      this.#emit("error", message);
      return null;
    }
    if (typeof body.callUrl !== "string") {
      this.#emit("error", "The voice platform started the call but sent no callUrl");
      return null;
    }
    return body;
  }

  #connect(callUrl) {
    return new Promise((resolve) => {
      let socket;
      try {
        socket = new WebSocket(callUrl);
      } catch (error) {
        this.#emit("error", `Could not open the call's connection: ${error.message}`);
        this.#calling = false;
        resolve();
        return;
      }
      this.#socket = socket;
      let opened = false;
      socket.addEventListener("open", () => {
        opened = true;
        resolve();
      });
      socket.addEventListener("message", (message) => this.#receive(message.data));
      socket.addEventListener("close", () => {
        if (!opened) this.#emit("error", "Could not open the call's connection");
        resolve();
        if (this.#socket === socket) this.#socket = null;
        this.#finish();
      });
    });
  }

  #receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const { event, data } = message;
    if (!EVENTS.includes(event)) return;
    if (event === "call_started") this.#started = true;
    if (event === "call_ended") {
      this.#finish();
      return;
    }
    this.#emit(event, data);
  }

  /** The call is over, for whatever reason: emit call_ended once, if it had started. */
  #finish() {
    const wasStarted = this.#started;
    this.#calling = false;
    this.#started = false;
    if (wasStarted) this.#emit("call_ended");
  }

  #emit(event, data) {
    const listeners = [...(this.#listeners.get(event) ?? [])];
    if (event === "error" && listeners.length === 0) {
      console.error(`ZentrixVoiceClient error: ${data} (listen with client.on("error", ...))`);
      return;
    }
    for (const listener of listeners) {
      try {
        if (data === undefined || data === null) listener();
        else listener(data);
      } catch (error) {
        console.error(`ZentrixVoiceClient: a "${event}" listener threw`, error);
      }
    }
  }
}

export default ZentrixVoiceClient;
