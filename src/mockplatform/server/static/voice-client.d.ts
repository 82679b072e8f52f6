/**
 * Types of mockplatform's stand-in for the platform's Voice Web SDK (`zentrix-voice-sdk`):
 * the client's methods, `startCall`'s options, and each event with its payload, so that a
 * misspelt event name or a token of the wrong type is a compile error.
 */

/** One line of the call's transcript. */
export interface TranscriptEntry {
  role: "agent" | "user";
  content: string;
}

/** `update`: the whole transcript so far, and whose turn it is. */
export interface CallUpdate {
  transcript: TranscriptEntry[];
  turntaking: "agent_turn" | "user_turn";
}

/** `metadata`: who the call is with, in which language. */
export interface CallMetadata {
  callId: string;
  agentName: string;
  companyName: string | null;
  persona: string | null;
  callerName: string | null;
  language: string;
  languageName: string;
  requestedLanguage: string;
  languageDetected: boolean;
}

/** An `error`'s stable code: match on it, never on the message. */
export type ZentrixErrorCode =
  | "token_expired"
  | "token_used"
  | "token_invalid"
  | "platform_error"
  | "unreachable"
  | "connection_lost"
  | "microphone_denied"
  | "call_in_progress"
  | "invalid_options";

/** `error`'s second argument. */
export interface ZentrixVoiceError {
  code: ZentrixErrorCode;
  /** The same message as the first argument (the platform's, e.g. "Access token expired"). */
  message: string;
  /** What the platform added, when it did. */
  detail?: string;
  /** The HTTP status of the platform's answer, when there was one. */
  status?: number;
}

/** Why a call ended. */
export type CallEndReason = "completed" | "user_hangup" | "connection_lost" | "failed";

/** `call_ended`: emitted exactly once for every call that was connecting or started. */
export interface CallEnded {
  reason: CallEndReason;
}

/** The client's state: idle, connecting (the token being redeemed), in_call, ended. */
export type CallStatus = "idle" | "connecting" | "in_call" | "ended";

/** Every event the client emits, with its listener's signature. */
export interface ZentrixVoiceEvents {
  call_started: () => void;
  call_ready: () => void;
  call_ended: (ended: CallEnded) => void;
  agent_start_talking: () => void;
  agent_stop_talking: () => void;
  update: (update: CallUpdate) => void;
  metadata: (metadata: CallMetadata) => void;
  /** The message ("Access token expired", ...), then the error with its code. Unheard, it
   * goes to console.error. */
  error: (message: string, error: ZentrixVoiceError) => void;
}

export type ZentrixVoiceEvent = keyof ZentrixVoiceEvents;

export interface ZentrixVoiceClientOptions {
  /** Where the mock runs, e.g. "http://127.0.0.1:8080" (default: `sdk pack --base-url`, else
   * VITE_ZENTRIX_MOCK_URL / ZENTRIX_MOCK_URL at build time, else the module's own mock when
   * imported from /sdk/voice-client.js, else http://127.0.0.1:8080). */
  baseUrl?: string;
}

export interface StartCallOptions {
  /** The short-lived token your backend got from POST /api/widget/token. */
  accessToken: string;
}

export declare const EVENTS: readonly ZentrixVoiceEvent[];
export declare const ERROR_CODES: readonly ZentrixErrorCode[];
export declare const END_REASONS: readonly CallEndReason[];

export declare class ZentrixVoiceClient {
  constructor(options?: ZentrixVoiceClientOptions);
  /** idle, connecting, in_call or ended. */
  readonly status: CallStatus;
  /** While connecting and during the call. */
  readonly isCalling: boolean;
  readonly isMuted: boolean;
  on<E extends ZentrixVoiceEvent>(event: E, listener: ZentrixVoiceEvents[E]): this;
  /** Without a listener: every listener of that event. */
  off<E extends ZentrixVoiceEvent>(event: E, listener?: ZentrixVoiceEvents[E]): this;
  /** Redeem the token and join the call. Resolves once connected or failed; never rejects. */
  startCall(options: StartCallOptions): Promise<void>;
  /** Hang up in any state (a pending redeem is abandoned): call_ended({reason: "user_hangup"}). */
  stopCall(): void;
  /** The simulated caller's turns stop (they leave the transcript) until unmute(). */
  mute(): void;
  unmute(): void;
}

export default ZentrixVoiceClient;
