import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: 'build' }),
		// The custom server checks Origin on websocket upgrades; Kit checks it on form posts.
		// The same-origin check of form posts is made by hooks.server.ts (sameOriginForm), which says
		// why in French; SvelteKit's own check answers in English before any hook runs.
		csrf: { trustedOrigins: ['*'] },
		// A strict policy: scripts only from the app itself plus the page's own bootstrap, which
		// SvelteKit marks with a fresh nonce on each page ('auto': nonces, hashes when prerendered).
		// Styles allow 'unsafe-inline' because the pages use style attributes and the PPS editor
		// (Tiptap) injects its stylesheet; no script can run from a style. 'self' in connect-src
		// covers the same-origin websockets (/socket.io/ and /yjs/, ws: or wss:).
		csp: {
			mode: 'auto',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self', 'unsafe-inline'],
				'img-src': ['self', 'data:'],
				'font-src': ['self'],
				'connect-src': ['self'],
				'worker-src': ['self'],
				'manifest-src': ['self'],
				'frame-src': ['none'],
				'object-src': ['none'],
				'base-uri': ['none'],
				'form-action': ['self'],
				'frame-ancestors': ['none']
			}
		}
	}
};
