import { defineConfig } from 'vite';

// The build goes to dist/, which build.rs embeds into the pactum binary.
export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
