// The hardened snippet's page (src/hardened-client.js, as the README prints it): one button,
// and the page's own showError, which the snippet calls.
import { startCall } from "./hardened-client.js";

globalThis.showError = (message) => console.error(`Shown to the user: ${message}`);
document.querySelector("#call").addEventListener("click", () => startCall());
document.body.dataset.ready = "true";
