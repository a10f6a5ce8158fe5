import { sveltekit } from '@sveltejs/kit/vite';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

// In development the realtime endpoints (socket.io, Yjs) live on Vite's own http server, through
// the same attach function as in production.
function realtime(): Plugin {
	return {
		name: 'microstructures-realtime',
		apply: 'serve',
		async configureServer(server) {
			if (!server.httpServer) return;
			const { prepareDatabase } = await import('./src/lib/server/boot.ts');
			const { attachRealtime } = await import('./src/lib/server/realtime/attach.ts');
			await prepareDatabase();
			await attachRealtime(server.httpServer as import('node:http').Server);
			const { startProcessJobs } = await import('./src/lib/server/jobs/index.ts');
			await startProcessJobs();
		}
	};
}

export default defineConfig({
	plugins: [sveltekit(), realtime()],
	test: {
		include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
		globalSetup: ['tests/helpers/global-setup.ts'],
		testTimeout: 30_000,
		hookTimeout: 60_000,
		fileParallelism: true,
		pool: 'forks'
	}
});
