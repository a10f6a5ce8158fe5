// The header list shared by pages (hooks.server.ts) and websocket upgrades (realtime/).
import { expect, test } from 'vitest';
import { addSecurityHeaderLines, addSecurityHeaders, securityHeaders } from '../../src/lib/server/security-headers.ts';

test('HSTS only behind an https public origin', () => {
	expect(securityHeaders('https://microstructures.example.fr')['Strict-Transport-Security']).toBe('max-age=63072000; includeSubDomains');
	expect(securityHeaders('http://localhost:3000')['Strict-Transport-Security']).toBeUndefined();
	expect(securityHeaders(undefined)['Strict-Transport-Security']).toBeUndefined();
});

test('every answer is uncacheable, unframeable and not sniffed', () => {
	expect(securityHeaders(undefined)).toMatchObject({
		'Cache-Control': 'no-store',
		'X-Content-Type-Options': 'nosniff',
		'X-Frame-Options': 'DENY',
		'Referrer-Policy': 'same-origin'
	});
});

test('engine.io gets one key per header, whatever the case it used', () => {
	const headers: Record<string, string> = { 'cache-control': 'no-store' };
	addSecurityHeaders(headers);
	expect(Object.keys(headers).filter((k) => k === 'cache-control')).toHaveLength(1);
	expect(headers['x-frame-options']).toBe('DENY');
	const lines: string[] = ['HTTP/1.1 101 Switching Protocols'];
	addSecurityHeaderLines(lines);
	expect(lines).toContain('X-Content-Type-Options: nosniff');
});
