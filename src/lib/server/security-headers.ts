// The security headers of every answer the app gives: pages and files (hooks.server.ts) and the
// websocket upgrades of socket.io and Yjs (realtime/). The Content-Security-Policy of pages is
// SvelteKit's (`kit.csp` in svelte.config.js, with a nonce per page); it is not repeated here.
// No SvelteKit import: the realtime server (plain Node) uses this module too.
import { config } from './config.ts';

/** Two years, the preload list's minimum. */
const HSTS_MAX_AGE = 63_072_000;

/**
 * Header name → value. HSTS only when the public origin is https (behind a TLS proxy): over plain
 * http it is ignored at best, and it would pin a development host to https at worst.
 */
export function securityHeaders(origin: string | undefined = config.origin): Record<string, string> {
	const headers: Record<string, string> = {
		// Every page and file may hold patient data: nothing is kept by the browser or a proxy.
		'Cache-Control': 'no-store',
		'X-Content-Type-Options': 'nosniff',
		'X-Frame-Options': 'DENY',
		'Referrer-Policy': 'same-origin',
		// The microphone for voice messages, from the app's own pages only.
		'Permissions-Policy':
			'accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(self), midi=(), payment=(), usb=(), serial=(), hid=(), browsing-topics=()',
		'Cross-Origin-Opener-Policy': 'same-origin',
		'Cross-Origin-Resource-Policy': 'same-origin'
	};
	if (origin?.startsWith('https:')) headers['Strict-Transport-Security'] = `max-age=${HSTS_MAX_AGE}; includeSubDomains`;
	return headers;
}

const HEADERS = securityHeaders();

/** Sets the headers on a response of the app (replacing any caching a route may have chosen). */
export function applySecurityHeaders(headers: Headers): void {
	for (const [name, value] of Object.entries(HEADERS)) headers.set(name, value);
}

/** For engine.io's `headers` event (socket.io polling answers and websocket upgrade). */
export function addSecurityHeaders(headers: Record<string, string>): void {
	// engine.io writes its own in lower case (polling sets cache-control): one key per header.
	for (const [name, value] of Object.entries(HEADERS)) headers[name.toLowerCase()] = value;
}

/** For the `ws` server's `headers` event (the Yjs websocket upgrade): "Name: value" lines. */
export function addSecurityHeaderLines(lines: string[]): void {
	for (const [name, value] of Object.entries(HEADERS)) lines.push(`${name}: ${value}`);
}
