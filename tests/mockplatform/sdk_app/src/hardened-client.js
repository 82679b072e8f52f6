// Client: listeners once, before any call; errors shown; the backend's answer checked.
import { ZentrixVoiceClient } from "zentrix-voice-sdk";

const voiceClient = new ZentrixVoiceClient();
voiceClient.on("call_started", () => console.log("Call connected"));
voiceClient.on("call_ended", ({ reason }) => console.log(`Call ended (${reason})`));
voiceClient.on("error", (message, { code }) => showError(`${message} [${code}]`)); // showError: your page's own

export async function startCall() {
  if (voiceClient.isCalling) return;                // connecting or in a call already
  let res;
  let body = {};
  try {
    res = await fetch("/api/start-call", {          // a token on each click: never pre-fetch
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ agentId: "your-agent-uuid", callerName: "Website Visitor" }),
    });
    body = await res.json();                        // may be broken: a proxy's HTML, a cut body
  } catch (error) {
    if (!res) return showError(`Could not reach your backend: ${error.message}`);
  }
  if (!res.ok || typeof body.accessToken !== "string") {
    return showError(`${res.status} ${body.error ?? "no token in the answer"}`); // 401/403/404/500, 502
  }
  await voiceClient.startCall({ accessToken: body.accessToken });
}
