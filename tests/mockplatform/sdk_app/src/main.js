// The app's page: one button that runs the seed's startCall (src/seed-client.js, the
// platform docs' snippet as they print it; the build exposes its function, see expose-seed.js).
import { startCall } from "./seed-client.js";

document.querySelector("#call").addEventListener("click", () => startCall());
document.body.dataset.ready = "true";
