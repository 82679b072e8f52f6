import { ZentrixVoiceClient } from 'zentrix-voice-sdk';
const voiceClient = new ZentrixVoiceClient();
async function startCall() {
// Get token from your backend
const res = await fetch('/api/start-call', {
method: 'POST',
headers: { 'Content-Type': 'application/json' },
body: JSON.stringify({
agentId: 'your-agent-uuid',
callerName: 'Website Visitor',
}),
});
const { accessToken } = await res.json();
// Start the WebRTC call
await voiceClient.startCall({ accessToken });
voiceClient.on('call_started', () => {
console.log('Call connected');
});
voiceClient.on('call_ended', () => {
console.log('Call ended');
});
}
