import { defineConfig } from "vite";
import { SEED, exposeSeed } from "./expose-seed.js";

export default defineConfig({
  logLevel: "warn",
  build: { outDir: "dist-vite", emptyOutDir: true, minify: false },
  plugins: [
    {
      name: "expose-seed",
      transform(code, id) {
        return SEED.test(id) ? exposeSeed(code) : null;
      },
    },
  ],
});
