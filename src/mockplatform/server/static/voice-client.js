/**
 * A stand-in for the platform's Voice Web SDK (`zentrix-voice-sdk`), served by mockplatform
 * two ways, from this one file:
 *
 *   - as an npm package: `mockplatform sdk pack --out vendor` (a tarball a team commits and
 *     installs as `file:vendor/…`), or `npm install http://127.0.0.1:8080/sdk/zentrix-voice-sdk.tgz`;
 *     then the platform's own `import { ZentrixVoiceClient } from "zentrix-voice-sdk"`. The
 *     package's bytes are the same whatever address the mock was reached at: where the mock
 *     is comes at run time (see defaultBaseUrl);
 *   - as a plain ES module at /sdk/voice-client.js, imported by URL (no build step): it then
 *     finds the mock from its own URL.
 *
 *   const client = new ZentrixVoiceClient();            // or ({ baseUrl: "http://127.0.0.1:8080" })
 *   client.on("call_started", () => console.log("Call connected"));
 *   client.on("update", ({ transcript }) => console.log(transcript.at(-1)));
 *   client.on("error", (message, { code }) => console.error(code, message));
 *   client.on("call_ended", ({ reason }) => console.log("ended:", reason));
 *   await client.startCall({ accessToken });
 *
 * Like a vendor SDK, startCall never throws. A call goes idle -> connecting -> in_call ->
 * ended (`status`); `stopCall()` ends it in any state (a pending redeem is abandoned: its
 * answer is ignored, its socket never opened); `call_ended` fires exactly once, with a
 * `reason`, for every call that was connecting or started. `error` listeners get the
 * message, then `{code, message, detail?, status?}` with a stable code (ERROR_CODES). An
 * `error` nobody listens to goes to console.error, as Node's EventEmitter does for 'error'.
 * Types: voice-client.d.ts beside this file.
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

/** The `code` of an `error`, stable across versions: match on it, never on the message. */
export const ERROR_CODES = Object.freeze([
  "token_expired", // the access token's lifetime passed: fetch a new one and retry
  "token_used", // the access token already started a call: fetch a new one
  "token_invalid", // no such token, or not one at all
  "platform_error", // the voice platform failed (5xx, a broken answer, a failed call)
  "unreachable", // the voice platform could not be reached
  "connection_lost", // the call's connection dropped mid-call
  "microphone_denied", // the user (or the browser) refused the microphone
  "call_in_progress", // startCall while a call is connecting or in progress
  "invalid_options", // startCall without a token, or a baseUrl that is not a URL
]);

/** Why a call ended: `call_ended`'s `{reason}`. */
export const END_REASONS = Object.freeze(["completed", "user_hangup", "connection_lost", "failed"]);

/** A default written in by `mockplatform sdk pack --base-url URL` (empty: none). */
const PACKAGED_BASE_URL = "";
/** The platform's refusal messages and their codes, written in from openapi.yaml as served. */
const PLATFORM_ERRORS = {};
/** Where the mock serves this file as a plain module, and where it listens by default. */
const SERVED_PATH = "/sdk/voice-client.js";
const MOCK_DEFAULT_URL = "http://127.0.0.1:8080/";
const BASE_URL_HINT =
  'pass the mock\'s URL: new ZentrixVoiceClient({ baseUrl: "http://HOST:PORT" }), or set ' +
  "VITE_ZENTRIX_MOCK_URL (Vite) / ZENTRIX_MOCK_URL (process.env) when you build";
const NOTICE =
  "zentrix-voice-sdk here is mockplatform's stand-in, not the platform's SDK: calls are simulated by the mock at";

let announced = false;

/** The URL a bundler wrote in at build time (Vite's import.meta.env, a process.env define). */
function buildTimeBaseUrl() {
  try {
    const url = import.meta.env.VITE_ZENTRIX_MOCK_URL;
    if (url) return [url, "VITE_ZENTRIX_MOCK_URL"];
  } catch {
    // not built by Vite
  }
  try {
    const url = process.env.ZENTRIX_MOCK_URL;
    if (url) return [url, "ZENTRIX_MOCK_URL"];
  } catch {
    // no process.env, and no bundler define for it
  }
  return null;
}

/** Whether this copy runs in a production build (Vite's mode, or NODE_ENV). */
function inProductionBuild() {
  try {
    if (import.meta.env.PROD === true) return true;
  } catch {
    // not built by Vite
  }
  try {
    return process.env.NODE_ENV === "production";
  } catch {
    return false;
  }
}

/**
 * Where the mock is when no `baseUrl` is given, and what said so: a URL packed in, one
 * written in at build time, the mock this module was imported from (its own URL, when
 * served at SERVED_PATH), else the mock's default address.
 */
function defaultBaseUrl() {
  if (PACKAGED_BASE_URL) return [PACKAGED_BASE_URL, "sdk pack --base-url"];
  const built = buildTimeBaseUrl();
  if (built) return built;
  try {
    const here = new URL(import.meta.url);
    if (here.pathname.endsWith(SERVED_PATH)) return [new URL("..", here).href, "the module's URL"];
  } catch {
    // a bundled or IIFE copy: its URL is the app's, or there is none
  }
  return [MOCK_DEFAULT_URL, "the mock's default address"];
}

/** The code of a refused redeem: the platform's message says it, else the status does. */
function refusalCode(status, message) {
  const known = PLATFORM_ERRORS[message];
  if (known) return known;
  if (status === 409) return "token_used";
  return status >= 500 ? "platform_error" : "token_invalid";
}

export class ZentrixVoiceClient {
  #baseUrl;
  #baseUrlSource;
  #listeners = new Map();
  #socket = null;
  #status = "idle"; // idle, connecting, in_call, ended
  #attempt = null; // the current call's own object: an abandoned one is no longer it
  #muted = false;

  /** @param {{baseUrl?: string}} [options] where the mock runs (default: defaultBaseUrl()) */
  constructor(options = {}) {
    [this.#baseUrl, this.#baseUrlSource] =
      options.baseUrl === undefined ? defaultBaseUrl() : [options.baseUrl, "baseUrl"];
    announce(this.#baseUrl);
  }

  /** idle, connecting, in_call or ended. */
  get status() {
    return this.#status;
  }

  /** True while connecting and during the call. */
  get isCalling() {
    return this.#status === "connecting" || this.#status === "in_call";
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
    if (this.isCalling) {
      this.#error("call_in_progress", `A call is already ${this.#status}: stopCall() first`);
      return;
    }
    if (typeof accessToken !== "string" || accessToken === "") {
      const got = accessToken === undefined ? "none" : JSON.stringify(accessToken);
      this.#error(
        "invalid_options",
        `startCall needs { accessToken }: the token your backend fetched (got ${got}: did the token request fail?)`,
      );
      return;
    }
    const attempt = { aborter: new AbortController() };
    this.#attempt = attempt;
    this.#status = "connecting";
    const started = await this.#redeem(attempt, accessToken);
    if (this.#attempt !== attempt) return; // stopCall() while the redeem was pending
    if (started === null) {
      this.#end("failed");
      return;
    }
    await this.#connect(attempt, started.callUrl);
  }

  /** Hang up, in any state: call_ended({reason: "user_hangup"}) if a call was under way. */
  stopCall() {
    const attempt = this.#attempt;
    if (attempt === null) return;
    attempt.aborter.abort();
    const socket = this.#socket;
    this.#socket = null;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "stop" }));
      socket.close(1000, "stopCall");
    } else if (socket) {
      socket.close();
    }
    this.#end("user_hangup");
  }

  /** The simulated caller stops speaking: their turns leave the transcript until unmute(). */
  mute() {
    this.#muted = true;
    this.#tell({ type: "mute" });
  }

  unmute() {
    this.#muted = false;
    this.#tell({ type: "unmute" });
  }

  #tell(message) {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  async #redeem(attempt, accessToken) {
    let url;
    try {
      url = new URL("api/widget/calls", this.#baseUrl).href;
    } catch {
      this.#error(
        "invalid_options",
        `baseUrl ${JSON.stringify(this.#baseUrl)} (from ${this.#baseUrlSource}) is not a URL: ${BASE_URL_HINT}`,
      );
      return null;
    }
    let response;
    let text;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ accessToken }),
        signal: attempt.aborter.signal,
      });
      text = await response.text();
    } catch (error) {
      if (this.#attempt !== attempt) return null;
      const where = `${url} (from ${this.#baseUrlSource})`;
      const message = response
        ? `The voice platform's answer at ${where} broke off (${error.message})`
        : `Could not reach the voice platform at ${where} (${error.message}): is the mock running there? If not, ${BASE_URL_HINT}`;
      this.#error(response ? "platform_error" : "unreachable", message, { status: response?.status });
      return null;
    }
    if (this.#attempt !== attempt) return null;
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    const status = response.status;
    if (!response.ok) {
      if (typeof body?.error === "string") {
        this.#error(refusalCode(status, body.error), body.error, { status, detail: body.detail });
      } else {
        const message = `The voice platform answered ${status} at ${url} (from ${this.#baseUrlSource}): is that the mock? If not, ${BASE_URL_HINT}`;
        this.#error(refusalCode(status, null), message, { status });
      }
      return null;
    }
    if (typeof body?.callUrl !== "string") {
      const message =
        body === null
          ? `The voice platform's answer at ${url} was not JSON: it was lost or broken in transit`
          : "The voice platform started the call but sent no callUrl";
      this.#error("platform_error", message, { status });
      return null;
    }
    return body;
  }

  #connect(attempt, callUrl) {
    return new Promise((resolve) => {
      let socket;
      try {
        socket = new WebSocket(callUrl);
      } catch (error) {
        this.#error("unreachable", `Could not open the call's connection: ${error.message}`);
        this.#end("failed");
        resolve();
        return;
      }
      this.#socket = socket;
      const call = { opened: false, over: false };
      socket.addEventListener("open", () => {
        call.opened = true;
        if (this.#muted) socket.send(JSON.stringify({ type: "mute" }));
        resolve();
      });
      socket.addEventListener("message", (message) => this.#receive(attempt, call, message.data));
      socket.addEventListener("close", (event) => {
        resolve();
        if (this.#socket === socket) this.#socket = null;
        if (this.#attempt !== attempt || call.over) return;
        // Closed with no call_ended nor error first: the connection went away.
        if (!call.opened) {
          this.#error("unreachable", `Could not open the call's connection at ${callUrl.split("?")[0]}`);
          this.#end("failed");
        } else {
          const message = `The call's connection was lost (close code ${event.code})`;
          this.#error("connection_lost", message, { detail: event.reason || undefined });
          this.#end("connection_lost");
        }
      });
    });
  }

  #receive(attempt, call, text) {
    if (this.#attempt !== attempt) return;
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const { event, data } = message;
    if (!EVENTS.includes(event)) return;
    if (event === "call_started") this.#status = "in_call";
    if (event === "call_ended") {
      call.over = true;
      this.#end("completed");
      return;
    }
    if (event === "error") {
      call.over = true;
      this.#error(message.code ?? "platform_error", String(data), { detail: message.detail });
      this.#end("failed");
      return;
    }
    this.#emit(event, [data]);
  }

  /** The call is over: call_ended({reason}) once, for a call that was connecting or started. */
  #end(reason) {
    const wasUnderWay = this.isCalling;
    this.#attempt = null;
    this.#status = wasUnderWay ? "ended" : this.#status;
    if (wasUnderWay) this.#emit("call_ended", [{ reason }]);
  }

  #error(code, message, { status, detail } = {}) {
    const error = { code, message };
    if (detail !== undefined && detail !== null) error.detail = detail;
    if (status !== undefined) error.status = status;
    this.#emit("error", [message, error]);
  }

  #emit(event, args) {
    const listeners = [...(this.#listeners.get(event) ?? [])];
    if (event === "error" && listeners.length === 0) {
      const [message, { code }] = args;
      console.error(`ZentrixVoiceClient error (${code}): ${message} (listen with client.on("error", ...))`);
      return;
    }
    const given = args.filter((arg) => arg !== undefined && arg !== null);
    for (const listener of listeners) {
      try {
        listener(...given);
      } catch (error) {
        console.error(`ZentrixVoiceClient: a "${event}" listener threw`, error);
      }
    }
  }
}

/** Say once per page what this is; a production build that ships it is told off, louder. */
function announce(baseUrl) {
  if (announced) return;
  announced = true;
  if (inProductionBuild()) {
    console.warn(
      `${NOTICE} ${baseUrl}. This is a PRODUCTION build: install the platform's zentrix-voice-sdk instead.`,
    );
  } else {
    console.info(`${NOTICE} ${baseUrl}`);
  }
}

export default ZentrixVoiceClient;
