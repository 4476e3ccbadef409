import { defineConfig } from 'vite';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

/**
 * Emits `sw.js` (from src/sw.js) with the list of files of this build and a build id made from
 * their names, which change whenever their content does (vite hashes them).
 */
function serviceWorker() {
  return {
    name: 'xuncha-service-worker',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((f) => !f.endsWith('.map'));
      const shell = ['/', '/index.html', '/manifest.webmanifest', '/icons/icon-192.png', '/icons/icon-512.png', ...files.filter((f) => f !== 'index.html').map((f) => `/${f}`)];
      const build = createHash('sha256').update(files.sort().join('\n')).digest('hex').slice(0, 12);
      const source = readFileSync(new URL('./src/sw.js', import.meta.url), 'utf8')
        .replace("'__BUILD__'", JSON.stringify(build))
        .replace('= __SHELL__;', `= ${JSON.stringify(shell)};`);
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

// The built client is served by `xuncha serve --web web/dist`; everything is same-origin.
export default defineConfig({
  base: '/',
  plugins: [serviceWorker()],
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
