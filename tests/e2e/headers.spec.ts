// Security headers on every kind of answer (page, login page, PDF, JSON export, websocket
// upgrades of socket.io and Yjs), and the Content-Security-Policy holding in real Chromium: the
// main pages, live features included, run without a single violation.
import type { Page } from '@playwright/test';
import WebSocket from 'ws';
import { expect, test, newUserPage } from './helpers';

const COMMON = {
	'cache-control': 'no-store',
	'x-content-type-options': 'nosniff',
	'x-frame-options': 'DENY',
	'referrer-policy': 'same-origin',
	'cross-origin-opener-policy': 'same-origin'
};

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>, what: string) {
	for (const [name, value] of Object.entries(COMMON)) expect(headers[name], `${name} on ${what}`).toBe(value);
	expect(headers['permissions-policy'], `permissions-policy on ${what}`).toMatch(/camera=\(\).*geolocation=\(\).*microphone=\(self\)/);
	// The end-to-end server runs without ORIGIN (plain http): no HSTS.
	expect(headers['strict-transport-security'], `HSTS on ${what}`).toBeUndefined();
}

function expectStrictCsp(csp: string | undefined, what: string) {
	expect(csp, `CSP on ${what}`).toBeDefined();
	const directives = new Map(csp!.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
	const scripts = directives.get('script-src') ?? [];
	expect(scripts, what).toContain("'self'");
	expect(scripts.some((v) => v.startsWith("'nonce-")), `a nonce in script-src on ${what}`).toBe(true);
	expect(scripts, what).not.toContain("'unsafe-inline'");
	expect(scripts, what).not.toContain("'unsafe-eval'");
	expect(directives.get('frame-ancestors'), what).toEqual(["'none'"]);
	expect(directives.get('object-src'), what).toEqual(["'none'"]);
	expect(directives.get('base-uri'), what).toEqual(["'none'"]);
	expect(directives.get('form-action'), what).toEqual(["'self'"]);
	expect(directives.get('default-src'), what).toEqual(["'self'"]);
}

/** The response headers of a websocket upgrade (101), as the `ws` client receives them. */
function upgradeHeaders(url: string, headers: Record<string, string>): Promise<Record<string, string | string[] | undefined>> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { headers });
		ws.on('upgrade', (res) => {
			resolve(res.headers);
			ws.terminate();
		});
		ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
		ws.on('error', () => {});
	});
}

/** Every CSP violation the page reports, by event and by console. */
async function watchCsp(page: Page): Promise<string[]> {
	const violations: string[] = [];
	await page.exposeFunction('__cspViolation', (v: string) => violations.push(v));
	await page.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) =>
			(window as unknown as { __cspViolation: (v: string) => void }).__cspViolation(`${location.pathname}: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`)
		);
	});
	page.on('console', (m) => {
		if (/Content Security Policy|Content-Security-Policy|Permissions-Policy|Refused to/i.test(m.text())) violations.push(`console: ${m.text()}`);
	});
	return violations;
}

test('the login page carries the security headers and a strict CSP', async ({ request }) => {
	const login = await request.get('/login');
	expect(login.status()).toBe(200);
	expectSecurityHeaders(login.headers(), 'the login page');
	expectStrictCsp(login.headers()['content-security-policy'], 'the login page');
	// Each page has its own nonce.
	const again = await request.get('/login');
	expect(again.headers()['content-security-policy']).not.toBe(login.headers()['content-security-policy']);
	// Answers that are not pages too.
	const health = await request.get('/healthz');
	expectSecurityHeaders(health.headers(), '/healthz');
	// The app's immutable assets keep their long caching.
	const html = await login.text();
	const asset = /\/_app\/immutable\/[^"']+\.js/.exec(html)?.[0];
	expect(asset).toBeDefined();
	expect((await request.get(asset!)).headers()['cache-control']).toMatch(/immutable/);
});

test('patient pages, the PPS PDF, the export and both websocket upgrades carry the security headers; no CSP violation with the live features on', async ({ browser, baseURL }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	const violations = await watchCsp(ines);
	const cookies = await ines.context().cookies();
	const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');

	// The microstructure's home: team notes on Yjs, presence on socket.io.
	await ines.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await expect(ines.getByTestId('notes-status')).toHaveText('Synchronisé');
	await expect(ines.getByTestId('online-list')).toContainText('Inès Haddad');
	const msId = new URL(ines.url()).pathname.split('/').pop()!;

	// A patient record and its PPS, co-edited live (Yjs through the CSP).
	await ines.goto(`/ms/${msId}/patients`);
	await ines.getByRole('main').getByRole('link', { name: /P-[A-Z0-9]{4}-[A-Z0-9]{4}/ }).first().click();
	await expect(ines).toHaveURL(/\/patients\/[0-9a-f-]{36}$/);
	const patientPath = new URL(ines.url()).pathname;
	const patientId = patientPath.split('/').pop()!;
	const record = await ines.request.get(patientPath);
	expectSecurityHeaders(record.headers(), 'a patient record');
	expectStrictCsp(record.headers()['content-security-policy'], 'a patient record');
	const ppsLink = ines.getByRole('link', { name: 'Ouvrir le PPS' });
	if (await ppsLink.count()) {
		await ppsLink.click();
		await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	}

	// Files with patient data.
	const pdf = await ines.request.get(`/ms/${msId}/patients/${patientId}/pps/pdf`);
	expect(pdf.status()).toBe(200);
	expect(pdf.headers()['content-type']).toBe('application/pdf');
	expectSecurityHeaders(pdf.headers(), 'the PPS PDF');
	const exported = await ines.request.get(`/ms/${msId}/patients/${patientId}/export`);
	expectSecurityHeaders(exported.headers(), 'the patient export');
	// The data behind client-side navigation.
	const data = await ines.request.get(`${patientPath}/__data.json`);
	expectSecurityHeaders(data.headers(), 'page data');

	// Other main pages, each loaded in full.
	for (const path of ['/', '/a-faire', '/rcp', `/ms/${msId}/rcp`, `/ms/${msId}/patients/nouveau`, '/notifications', '/compte']) {
		const response = await ines.goto(path);
		expect(response?.status(), path).toBe(200);
		expectStrictCsp(response?.headers()['content-security-policy'], path);
		await ines.waitForLoadState('networkidle');
	}
	expect(violations).toEqual([]);

	// The websocket upgrades.
	const ws = baseURL!.replace('http', 'ws');
	const headers = { cookie, origin: baseURL! };
	expectSecurityHeaders(await upgradeHeaders(`${ws}/socket.io/?EIO=4&transport=websocket`, headers), 'the socket.io upgrade');
	expectSecurityHeaders(await upgradeHeaders(`${ws}/yjs/ms-notes:${msId}`, headers), 'the Yjs upgrade');
	// socket.io's long-polling answers too.
	const polling = await ines.request.get(`/socket.io/?EIO=4&transport=polling`, { headers: { origin: baseURL! } });
	expectSecurityHeaders(polling.headers(), 'socket.io polling');
});

test('no page of the app can be framed, not even the login page', async ({ page, baseURL }) => {
	await page.setContent(`<iframe src="${baseURL}/login" title="cadre"></iframe>`);
	await page.waitForTimeout(1000);
	await expect(page.frameLocator('iframe').getByRole('button', { name: 'Se connecter' })).toHaveCount(0);
});
