// esbuild, the most natural set-up: bundle src/main.js (and the SDK from node_modules).
import { copyFile, mkdir, readFile } from "node:fs/promises";
import * as esbuild from "esbuild";
import { SEED, exposeSeed } from "./expose-seed.js";

const expose = {
  name: "expose-seed",
  setup(build) {
    build.onLoad({ filter: SEED }, async ({ path }) => ({
      contents: exposeSeed(await readFile(path, "utf8")),
      loader: "js",
    }));
  },
};

// ZENTRIX_MOCK_URL, when set, is written in as the SDK's default mock URL (a define, as a
// team's build would do it); the page of the README's hardened snippet is built beside.
const mockUrl = process.env.ZENTRIX_MOCK_URL;
await mkdir("dist-esbuild", { recursive: true });
await esbuild.build({
  entryPoints: { app: "src/main.js", hardened: "src/main-hardened.js" },
  bundle: true,
  format: "esm",
  outdir: "dist-esbuild",
  plugins: [expose],
  define: mockUrl ? { "process.env.ZENTRIX_MOCK_URL": JSON.stringify(mockUrl) } : {},
  logLevel: "warning",
});
await copyFile("index-esbuild.html", "dist-esbuild/index.html");
await copyFile("index-hardened.html", "dist-esbuild/hardened.html");
