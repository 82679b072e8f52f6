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

/** Every event the client emits, with its listener's signature. */
export interface ZentrixVoiceEvents {
  call_started: () => void;
  call_ready: () => void;
  call_ended: () => void;
  agent_start_talking: () => void;
  agent_stop_talking: () => void;
  update: (update: CallUpdate) => void;
  metadata: (metadata: CallMetadata) => void;
  /** The platform's message ("Access token expired", ...). Unheard, it goes to console.error. */
  error: (message: string) => void;
}

export type ZentrixVoiceEvent = keyof ZentrixVoiceEvents;

export interface ZentrixVoiceClientOptions {
  /** Where the mock runs, e.g. "http://127.0.0.1:8080" (default: the URL it was installed from). */
  baseUrl?: string;
}

export interface StartCallOptions {
  /** The short-lived token your backend got from POST /api/widget/token. */
  accessToken: string;
}

export declare const EVENTS: readonly ZentrixVoiceEvent[];

export declare class ZentrixVoiceClient {
  constructor(options?: ZentrixVoiceClientOptions);
  /** Between startCall and the end of the call. */
  readonly isCalling: boolean;
  readonly isMuted: boolean;
  on<E extends ZentrixVoiceEvent>(event: E, listener: ZentrixVoiceEvents[E]): this;
  /** Without a listener: every listener of that event. */
  off<E extends ZentrixVoiceEvent>(event: E, listener?: ZentrixVoiceEvents[E]): this;
  /** Redeem the token and join the call. Resolves once connected or failed; never rejects. */
  startCall(options: StartCallOptions): Promise<void>;
  /** Hang up. Emits call_ended if the call had started. */
  stopCall(): void;
  /** Microphone state only: the simulated call has no audio. */
  mute(): void;
  unmute(): void;
}

export default ZentrixVoiceClient;
