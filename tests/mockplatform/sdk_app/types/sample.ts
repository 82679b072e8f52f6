// An app's use of the package, type-checked by tsc against the package's own declarations.
import {
  ERROR_CODES,
  ZentrixVoiceClient,
  type CallUpdate,
  type ZentrixVoiceError,
} from "zentrix-voice-sdk";

const client = new ZentrixVoiceClient({ baseUrl: "http://127.0.0.1:8080" });
client.on("error", (message: string) => console.error(message.toUpperCase()));
client.on("update", ({ transcript, turntaking }: CallUpdate) => {
  const last = transcript.at(-1);
  console.log(turntaking, last?.role, last?.content);
});
client.on("metadata", (metadata) => console.log(metadata.agentName, metadata.languageDetected));
client.on("call_ended", () => console.log("Call ended"));
client.on("call_ended", ({ reason }) => console.log(reason === "connection_lost" ? "retry" : reason));
client.on("error", (message, { code, status, detail }: ZentrixVoiceError) => {
  if (code === "token_expired" || code === "token_used") console.log("fetch a new token");
  console.log(message, status ?? "no status", detail ?? "", ERROR_CODES.includes(code));
});

export async function start(accessToken: string): Promise<boolean> {
  await client.startCall({ accessToken });
  client.stopCall();
  return client.isCalling || client.status === "connecting";
}
