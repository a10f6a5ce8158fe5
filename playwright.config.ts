import { defineConfig, devices } from '@playwright/test';
import { existsSync } from 'node:fs';

// Debian's Chromium (or CHROMIUM_PATH): this machine cannot download Playwright's own browsers.
const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
if (!chromium) {
	throw new Error(
		'No Chromium found for the end-to-end tests. Install Debian\'s package (`apt-get install -y chromium`) ' +
			'or set CHROMIUM_PATH to a Chromium binary. Do not run `npx playwright install`.'
	);
}

const PORT = Number(process.env.E2E_PORT || 4173);

export default defineConfig({
	testDir: 'tests/e2e',
	fullyParallel: true,
	workers: 2,
	retries: 0,
	// Scenarios sign in two or three people (Argon2, on purpose slow) and drive real-time pages on a
	// 2-core machine: some take 50 s there, and over two minutes when the other worker drives three
	// browsers at once (CI timed one out at 130 s). The limit is for a hung test; expectations keep their own 10 s.
	timeout: 180_000,
	expect: { timeout: 10_000 },
	reporter: [['list']],
	use: {
		baseURL: `http://localhost:${PORT}`,
		locale: 'fr-FR',
		timezoneId: 'Europe/Paris',
		trace: 'retain-on-failure',
		launchOptions: {
			executablePath: chromium,
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
				'--disable-dev-shm-usage'
			]
		}
	},
	projects: [
		{ name: 'chromium', use: { ...devices['Desktop Chrome'], channel: undefined }, testIgnore: /(fuzz|render|scale-out)\.spec\.ts/ },
		// The fuzz test drives a server of its own (its own database, so that it can check that nothing
		// changed); it runs after the browser tests so that the two do not compete for the machine.
		// Alone: `npx playwright test --project fuzz --no-deps`.
		{ name: 'fuzz', testMatch: /fuzz\.spec\.ts/, dependencies: ['chromium'] },
		// The render spec measures /healthz latency (< 100 ms) while PDFs render on its own server: it
		// needs the machine to itself, not a second worker driving Chromium beside it (it measured
		// 200–340 ms then). Alone: `npx playwright test --project render --no-deps`.
		{ name: 'render', testMatch: /render\.spec\.ts/, dependencies: ['fuzz'] },
		// The scale-out spec runs two app processes behind HAProxy on a database of its own
		// (scripts/topology.ts): last, so that three servers and the browsers do not share two cores
		// with the other projects. Alone: `npx playwright test --project scale-out --no-deps`.
		{ name: 'scale-out', testMatch: /scale-out\.spec\.ts/, dependencies: ['render'] }
	],
	webServer: {
		command: `npm run build && tsx tests/e2e/start-server.ts`,
		url: `http://localhost:${PORT}/healthz`,
		timeout: 240_000,
		reuseExistingServer: false,
		stdout: 'pipe',
		env: { PORT: String(PORT), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }
	}
});
