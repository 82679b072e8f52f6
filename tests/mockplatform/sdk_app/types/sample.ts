// An app's use of the package, type-checked by tsc against the package's own declarations.
import { ZentrixVoiceClient, type CallUpdate } from "zentrix-voice-sdk";

const client = new ZentrixVoiceClient({ baseUrl: "http://127.0.0.1:8080" });
client.on("error", (message: string) => console.error(message.toUpperCase()));
client.on("update", ({ transcript, turntaking }: CallUpdate) => {
  const last = transcript.at(-1);
  console.log(turntaking, last?.role, last?.content);
});
client.on("metadata", (metadata) => console.log(metadata.agentName, metadata.languageDetected));
client.on("call_ended", () => console.log("Call ended"));

export async function start(accessToken: string): Promise<boolean> {
  await client.startCall({ accessToken });
  client.stopCall();
  return client.isCalling;
}
