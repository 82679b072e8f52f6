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

await mkdir("dist-esbuild", { recursive: true });
await esbuild.build({
  entryPoints: ["src/main.js"],
  bundle: true,
  format: "esm",
  outfile: "dist-esbuild/app.js",
  plugins: [expose],
  logLevel: "warning",
});
await copyFile("index-esbuild.html", "dist-esbuild/index.html");
