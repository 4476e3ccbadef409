import { defineConfig } from 'vite';

// The built client is served by `xuncha serve --web web/dist`; everything is same-origin.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/tiles': 'http://127.0.0.1:8080',
      '/style.json': 'http://127.0.0.1:8080',
      '/tiles.json': 'http://127.0.0.1:8080',
    },
  },
});
