/**
 * A stand-in for the platform's Voice Web SDK (`zentrix-voice-sdk`), served by mockplatform
 * at /sdk/voice-client.js. A plain ES module, no build step: in development, import it
 * instead of the real SDK and the same code runs a simulated call against the local mock.
 *
 *   import { ZentrixVoiceClient } from "http://127.0.0.1:8080/sdk/voice-client.js";
 *   const client = new ZentrixVoiceClient();
 *   client.on("call_started", () => console.log("Call connected"));
 *   client.on("update", ({ transcript }) => console.log(transcript.at(-1)));
 *   client.on("error", (message) => console.error(message));
 *   await client.startCall({ accessToken });
 *
 * Like the real SDK, startCall never throws: an expired, unknown or used token emits `error`
 * with the platform's message ("Access token expired", ...) and never `call_started`.
 *
 * Events: call_started, call_ready, metadata (object), agent_start_talking,
 * agent_stop_talking, update ({transcript: [{role, content}], turntaking}), call_ended,
 * error (a string).
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

/** The mock that served this module: /sdk/voice-client.js -> its origin. */
const DEFAULT_BASE_URL = new URL("..", import.meta.url).href;

export class ZentrixVoiceClient {
  #baseUrl;
  #listeners = new Map();
  #socket = null;
  #calling = false; // between startCall and the end of the call
  #started = false; // call_started was emitted and call_ended not yet
  #muted = false;

  /** @param {{baseUrl?: string}} [options] where the mock runs (default: where this file came from) */
  constructor(options = {}) {
    this.#baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
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
      this.#emit("error", "startCall needs { accessToken }: the token your backend fetched");
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
    const url = new URL("api/widget/calls", this.#baseUrl).href;
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ accessToken }),
      });
    } catch (error) {
      this.#emit("error", `Could not reach the voice platform at ${url}: ${error.message}`);
      return null;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = body.error ?? `the voice platform answered ${response.status}`;
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
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
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
