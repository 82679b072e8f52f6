// What the package's types must refuse: tsc fails on each line marked "expect error".
import { ZentrixVoiceClient } from "zentrix-voice-sdk";

const client = new ZentrixVoiceClient();
client.on("eror", (message: string) => console.error(message)); // expect error: misspelt event
client.startCall({ accessToken: 123 }); // expect error: a token is a string
client.on("update", (update: string) => console.log(update)); // expect error: wrong payload
client.on("call_ended", ({ reason }) => reason === "hangup"); // expect error: no such reason
client.on("error", (_message, { code }) => code === "expired"); // expect error: no such code
